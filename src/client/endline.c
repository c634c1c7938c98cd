/*
 * endline: the END-line detector. See endline.h.
 *
 * At the start of each line the bytes that could still become "END\r\n" are
 * held back (they are always a prefix of "END\r", so they need no buffer of
 * their own); at the first byte that breaks the pattern they are released.
 */
#include "endline.h"

#include <string.h>

static const char pattern[] = "END\r";

void endline_init(struct endline *state)
{
	state->matched = 0; /* the stream starts at a line start */
}

size_t endline_feed(struct endline *state, const char *in, size_t length, char *out, bool *found)
{
	size_t written = 0;

	*found = false;
	for (size_t i = 0; i < length; i++) {
		char c = in[i];
		if (state->matched < 0) {
			out[written++] = c;
			if (c == '\n')
				state->matched = 0;
			continue;
		}
		if (c == '\n' && state->matched >= 3) {
			*found = true; /* "END\n" or "END\r\n": the held bytes are never sent */
			state->matched = 0;
			return written;
		}
		if (state->matched < 4 && c == pattern[state->matched]) {
			state->matched++;
			continue;
		}
		/* The line is not END: release what was held, then this byte. */
		memcpy(out + written, pattern, (size_t)state->matched);
		written += (size_t)state->matched;
		out[written++] = c;
		state->matched = c == '\n' ? 0 : -1;
	}
	return written;
}

size_t endline_finish(struct endline *state, char *out)
{
	size_t held = state->matched > 0 ? (size_t)state->matched : 0;

	state->matched = 0;
	if (held >= 3)
		return 0; /* "END" or "END\r" as the last line, without its newline */
	memcpy(out, pattern, held);
	return held;
}
