// The C ABI of the streaming decoder (Sources/POYOStream/include/poyo_stream.h), called as a C
// program would: ci/stream-abi-check.sh builds libPOYOStream.so, compiles this against it and runs
//   stream_abi_test CHECKPOINT SESSION
// Exit 0 when every check holds; each failure is printed.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poyo_stream.h"

static int failures;

static void check(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "stream_abi_test: FAILED: %s\n", what);
        failures++;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: stream_abi_test CHECKPOINT SESSION\n");
        return 2;
    }
    char error[512] = "";
    check(poyo_stream_open("/nonexistent/checkpoint.safetensors", argv[2], error, sizeof error) == NULL,
          "a missing checkpoint opens");
    check(strstr(error, "/nonexistent/checkpoint.safetensors") != NULL, "the error names the missing file");
    check(poyo_stream_open(argv[1], "no such session", error, sizeof error) == NULL, "an unknown session opens");
    check(strstr(error, "no such session") != NULL, "the error names the session");

    poyo_stream *s = poyo_stream_open(argv[1], argv[2], error, sizeof error);
    if (!s) {
        fprintf(stderr, "stream_abi_test: cannot open: %s\n", error);
        return 1;
    }
    int units = poyo_stream_unit_count(s);
    int outputs = poyo_stream_output_count(s);
    check(units > 0, "the session has units");
    check(outputs == 2, "two outputs (velocity x, y)");
    check(poyo_stream_unit_index(s, "not a unit") == -1, "an unknown unit id has no number");

    // 5 s of spikes at ~30 Hz per unit (a fixed pseudo-random stream), decoded every 20 ms from 1 s
    // on (before each spike, every update time not after it).
    unsigned seed = 7;
    double t = 0;
    int updates = 0;
    float out[2] = {0, 0};
    while (t < 5.0) {
        seed = seed * 1103515245u + 12345u;
        t += ((seed >> 8) % 1000 + 1) / 1000.0 / (30.0 * units) * 2;
        while (1.0 + 0.02 * updates <= t) {
            int rc = poyo_stream_decode(s, 1.0 + 0.02 * updates, out, 2);
            check(rc == POYO_STREAM_OK, "decode succeeds");
            check(isfinite(out[0]) && isfinite(out[1]), "outputs are finite");
            updates++;
        }
        int unit = (int)((seed >> 4) % (unsigned)units);
        check(poyo_stream_push(s, unit, t) == POYO_STREAM_OK, "push succeeds");
    }
    check(updates == 201, "201 updates, at 1.00, 1.02, ..., 5.00 s");

    check(poyo_stream_push(s, units, t + 0.1) == POYO_STREAM_BAD_INPUT, "an out-of-range unit is refused");
    check(strstr(poyo_stream_last_error(s), "is not one of the session") != NULL, "its message says why");
    check(poyo_stream_push(s, 0, t - 1) == POYO_STREAM_BAD_INPUT, "a spike out of order is refused");
    check(strstr(poyo_stream_last_error(s), "out of order") != NULL, "its message says why");
    check(poyo_stream_push(s, 0, NAN) == POYO_STREAM_BAD_INPUT, "a NaN time is refused");
    check(poyo_stream_decode(s, t, out, 1) == POYO_STREAM_BAD_INPUT, "a short output buffer is refused");
    poyo_stream_close(s);
    poyo_stream_close(NULL);
    printf("stream_abi_test: %d units, %d updates, last output %.4f %.4f; %d failure(s)\n", units, updates, out[0],
           out[1], failures);
    return failures ? 1 : 0;
}
