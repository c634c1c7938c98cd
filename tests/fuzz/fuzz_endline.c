/*
 * fuzz_endline: a libFuzzer target for the END-line detector
 * (src/client/endline.h), which decides from what a user types or pipes in
 * where the echo client's session ends.
 *
 * An input is a chunking, then a stream. The low three bits of its first
 * byte say how many chunk sizes follow (0 to 7); those bytes are the sizes of
 * the pieces the stream is fed in, used in turn and over again (a size of 0
 * means an empty call, then one byte). With no sizes the stream goes in as a
 * whole. The rest of the input is the stream. It is fed three ways: in those
 * chunks, whole, and one byte at a time; each time:
 *   - the concatenated output, with endline_finish's, equals what a
 *     whole-buffer reference written here says: every byte before the first
 *     line (ended by "\n") that is exactly "END" or "END\r"; without such a
 *     line, all the input but a last unterminated line that is exactly "END"
 *     or "END\r";
 *   - found comes in the call whose piece holds that line's "\n", and never
 *     before; nothing is fed after it;
 *   - after each call the output is the input as it came, up to the current
 *     line's start when what has come of that line is a prefix of "END\r",
 *     and up to the last byte fed otherwise: bytes are held back only while
 *     they could still be the END line;
 *   - each call writes at most its piece's length + ENDLINE_HELD_MAX bytes,
 *     and endline_finish at most ENDLINE_HELD_MAX, into the end of a heap
 *     block with exactly that much room left (AddressSanitizer sees a byte
 *     more).
 * A broken invariant prints which one and calls abort(), which libFuzzer
 * reports as a crash and keeps the input.
 *
 * Run: make fuzz [FUZZ_SECONDS=60], or by hand
 *   build-fuzz/fuzz_endline -max_total_time=60 DIR tests/fuzz/corpus/endline
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/endline.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define CHUNK_SIZES_MAX 7

/* What the reference says of a whole stream. */
struct expected {
	size_t length;  /* bytes of output: the stream's first LENGTH bytes */
	bool found;     /* an END line ended by "\n" */
	size_t newline; /* if found: the offset of that line's "\n" */
};

/* True when the line of LENGTH bytes at LINE is "END" or "END\r". */
static bool is_end_line(const char *line, size_t length)
{
	return (length == 3 && memcmp(line, "END", 3) == 0) ||
	       (length == 4 && memcmp(line, "END\r", 4) == 0);
}

/* The reference: cuts the whole stream into lines and looks at each. */
static struct expected reference(const char *stream, size_t size)
{
	struct expected result = {.length = size, .found = false, .newline = 0};

	for (size_t start = 0; start < size;) {
		const char *newline = memchr(stream + start, '\n', size - start);
		size_t end = newline != NULL ? (size_t)(newline - stream) : size;
		if (is_end_line(stream + start, end - start)) {
			result.length = start;
			result.found = newline != NULL;
			result.newline = end;
			return result;
		}
		start = end + 1;
	}
	return result;
}

/* True when the LENGTH bytes at TEXT are a (possibly empty) prefix of "END\r". */
static bool could_be_end(const char *text, size_t length)
{
	return length <= 4 && memcmp(text, "END\r", length) == 0;
}

/* The chunking: sizes in turn, or the whole stream when there are none. */
struct chunking {
	const uint8_t *sizes;
	size_t count;
	size_t next;
};

/* The next piece's length; sets *EMPTY_FIRST when an empty call comes before it. */
static size_t next_piece(struct chunking *chunking, size_t left, bool *empty_first)
{
	*empty_first = false;
	if (chunking->count == 0)
		return left;
	size_t length = chunking->sizes[chunking->next];
	chunking->next = (chunking->next + 1) % chunking->count;
	if (length == 0) {
		*empty_first = true;
		length = 1;
	}
	return length < left ? length : left;
}

/*
 * Feeds one piece and appends what comes out to OUTPUT. The detector writes
 * into the last LENGTH + ENDLINE_HELD_MAX bytes of ROOM (a block of
 * ROOM_SIZE bytes), so that AddressSanitizer sees a write past the
 * documented room.
 */
static size_t feed(struct endline *state, const char *piece, size_t length, char *room,
		   size_t room_size, char *output, size_t *output_length, bool *found)
{
	size_t allowed = length + ENDLINE_HELD_MAX;
	CHECK(allowed <= room_size);
	char *out = room + (room_size - allowed);
	size_t written = endline_feed(state, piece, length, out, found);
	CHECK(written <= allowed);
	memcpy(output + *output_length, out, written);
	*output_length += written;
	return written;
}

/* Runs the detector over STREAM in the pieces CHUNKING gives, checking as it goes. */
static void check_run(const char *stream, size_t size, struct chunking chunking,
		      const struct expected *expected)
{
	/* All output comes from the stream, in order, so it never needs more room than it. */
	size_t room_size = size + ENDLINE_HELD_MAX;
	char *output = malloc(room_size), *room = malloc(room_size);
	CHECK(output != NULL && room != NULL);
	size_t start = 0; /* where the line being fed starts */
	size_t output_length = 0;
	bool found = false;
	struct endline state;
	endline_init(&state);

	size_t fed = 0;
	while (fed < size) {
		bool empty_first;
		size_t length = next_piece(&chunking, size - fed, &empty_first);
		if (empty_first) {
			CHECK(feed(&state, stream + fed, 0, room, room_size, output, &output_length,
				   &found) == 0);
			CHECK(!found);
		}
		size_t before = output_length;
		feed(&state, stream + fed, length, room, room_size, output, &output_length, &found);
		size_t piece_start = fed;
		fed += length;

		/* Whatever came out so far is the stream as it came (the rest was checked before). */
		CHECK(output_length <= fed);
		CHECK(memcmp(output + before, stream + before, output_length - before) == 0);
		if (found) {
			CHECK(expected->found);
			CHECK(expected->newline >= piece_start && expected->newline < fed);
			break;
		}
		CHECK(!expected->found || expected->newline >= fed);

		/* Held back: only the current line's start, and only while it could be END. */
		const char *newline = memrchr(stream + piece_start, '\n', length);
		if (newline != NULL)
			start = (size_t)(newline - stream) + 1;
		if (could_be_end(stream + start, fed - start))
			CHECK(output_length == start);
		else
			CHECK(output_length == fed);
	}
	if (!found) {
		CHECK(!expected->found);
		char *out = room + (room_size - ENDLINE_HELD_MAX);
		size_t written = endline_finish(&state, out);
		CHECK(written <= ENDLINE_HELD_MAX);
		memcpy(output + output_length, out, written);
		output_length += written;
	}
	CHECK(output_length == expected->length);
	CHECK(memcmp(output, stream, output_length) == 0);
	free(room);
	free(output);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct chunking chunking = {.sizes = NULL, .count = 0, .next = 0};
	if (size > 0) {
		chunking.count = data[0] & CHUNK_SIZES_MAX;
		data++;
		size--;
		if (chunking.count > size)
			chunking.count = size;
		chunking.sizes = data;
		data += chunking.count;
		size -= chunking.count;
	}

	/* An exact-size copy: reading one byte past the stream is seen. */
	char *stream = malloc(size > 0 ? size : 1);
	CHECK(stream != NULL);
	memcpy(stream, data, size);
	struct expected expected = reference(stream, size);

	check_run(stream, size, chunking, &expected);
	struct chunking whole = {.sizes = NULL, .count = 0, .next = 0};
	check_run(stream, size, whole, &expected);
	static const uint8_t one = 1;
	struct chunking bytes = {.sizes = &one, .count = 1, .next = 0};
	check_run(stream, size, bytes, &expected);

	free(stream);
	return 0;
}
