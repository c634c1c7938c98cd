/*
 * endline: finds the line "END" (the course's way of ending a session) in a
 * byte stream that arrives in pieces of any size, passing everything before
 * it through unchanged. "END\n", "END\r\n", and "END" or "END\r" at the very
 * end of the input all count; "END" inside a line does not. Pure code, no I/O.
 */
#ifndef FORKNET_ENDLINE_H
#define FORKNET_ENDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes that may be held back between calls (a possible "END\r"). */
#define ENDLINE_HELD_MAX 4

struct endline {
	int matched; /* -1: inside a line; 0..4: at a line start, this much of "END\r" held back */
};

void endline_init(struct endline *state);

/*
 * Scans IN (LENGTH bytes) and writes to OUT (room for LENGTH +
 * ENDLINE_HELD_MAX) what may be sent now. Returns the number of bytes written.
 * Sets *FOUND when the END line was completed; what follows it is dropped.
 */
size_t endline_feed(struct endline *state, const char *in, size_t length, char *out, bool *found);

/*
 * At the end of the input: writes to OUT (room for ENDLINE_HELD_MAX) the
 * bytes still held back, unless they are a final "END". Returns their count.
 */
size_t endline_finish(struct endline *state, char *out);

#endif
