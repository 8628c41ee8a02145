#ifndef POYO_STREAM_H
#define POYO_STREAM_H
// The streaming POYO decoder as a C library (libPOYOStream.so; docs/streaming.md): open a decoder
// from a checkpoint and a session, push spikes as they arrive, decode the behaviour at any time
// from the spikes of the last second. One decoder per thread at a time; decoders are independent.
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct poyo_stream poyo_stream;

enum {
    POYO_STREAM_OK = 0,
    /// A unit number out of range, a spike earlier than the last, a non-finite time, a short buffer.
    POYO_STREAM_BAD_INPUT = 1,
    /// The checkpoint cannot be read, or the session is not in it.
    POYO_STREAM_BAD_CHECKPOINT = 2,
    /// Anything else (the message says what).
    POYO_STREAM_FAILED = 3,
};

/// A decoder of `session` (one of the checkpoint's sessions) from `checkpoint` (a
/// checkpoint.safetensors or a run folder), on the CPU. NULL on failure, with the reason in
/// `error` (up to `error_length` bytes, NUL-terminated) when it is not NULL.
poyo_stream *poyo_stream_open(const char *checkpoint, const char *session, char *error, size_t error_length);
void poyo_stream_close(poyo_stream *stream);

/// The session's units: how many, the number of a unit id (-1 if it is not one), and values per output.
int poyo_stream_unit_count(const poyo_stream *stream);
int poyo_stream_unit_index(const poyo_stream *stream, const char *unit_id);
int poyo_stream_output_count(const poyo_stream *stream);

/// Adds a spike of unit `unit` at `time` seconds; times must not decrease.
int poyo_stream_push(poyo_stream *stream, int unit, double time);
/// Writes the behaviour at `time` (behaviour units: the session's normalisation undone), from the
/// spikes in [time - 1 s, time), into `out` (at least poyo_stream_output_count values).
int poyo_stream_decode(poyo_stream *stream, double time, float *out, int out_length);
/// The message of the last call that failed on `stream`.
const char *poyo_stream_last_error(const poyo_stream *stream);

#ifdef __cplusplus
}
#endif
#endif
