# same_weights.py A B: exit 0 when two safetensors files hold the same tensors (names, shapes, bytes).
import json, struct, sys
def load(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n]); h.pop('__metadata__', None)
    return {k: (v['dtype'], v['shape'], b[8 + n + v['data_offsets'][0]:8 + n + v['data_offsets'][1]]) for k, v in h.items()}
a, b = load(sys.argv[1]), load(sys.argv[2])
diff = [k for k in a if a[k] != b.get(k)] + [k for k in b if k not in a]
print(f"{len(a)} tensors, {len(diff)} differ" + (f": {diff[:5]}" if diff else ""))
sys.exit(1 if diff else 0)
