/*
 * protocol: the chat's messages, as pure functions on bytes, apart from any
 * socket so that they can be unit-tested and fuzzed.
 *
 * One datagram is one message. A line end at its end ("\n" or "\r\n") is not
 * part of it. Text starting with '/' is a command:
 *
 *   /join TOKEN   answer the server's challenge and become a member
 *   /nick NAME    take a name (letters, digits, '.', '_', '-'; 1 to 24)
 *   /who          ask for the member list
 *   /quit         leave (the line END means the same)
 *   /ping         say "still here"; the server answers "* pong" (the client
 *                 pings now and then, and takes silence as a gone server)
 *
 * Anything else is a message, relayed to the other members with every line
 * prefixed by "NAME>> " or "ADDR:PORT>> ". A message that must start with
 * '/' is written with two: "//etc" is relayed as "/etc".
 *
 * The server's own lines start with "* " (notices) or "! " (errors); its
 * challenge reads: send "/join 9f3c0a1e5d7b2468" to join
 *
 * To an address that is not a member the server never sends more bytes than
 * the datagram it answers, so that it cannot amplify a forged flood. A client
 * therefore pads what it sends before it is a member (and its pings, which
 * may find it forgotten) with blanks to CHAT_PADDED_LENGTH bytes: room for
 * every answer a stranger can get. Blanks after a command are not part of it.
 */
#ifndef FORKNET_CHAT_PROTOCOL_H
#define FORKNET_CHAT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>

#define CHAT_NAME_MAX 24
#define CHAT_TOKEN_LENGTH 16
/* The challenge's length: 'send "/join ', the token, '" to join' and a newline. */
#define CHAT_CHALLENGE_LENGTH (12 + CHAT_TOKEN_LENGTH + 10)
/* What a client pads its join, token and ping datagrams to, line end included. */
#define CHAT_PADDED_LENGTH 64
/* The server's answer to a member's /ping. */
#define CHAT_PONG "* pong\n"
/* The largest UDP payload over IPv4; no datagram forknet sends is longer. */
#define CHAT_DATAGRAM_MAX 65507

enum chat_kind {
	CHAT_MESSAGE,  /* text to relay: ARGUMENT */
	CHAT_EMPTY,    /* nothing at all, or only a line end */
	CHAT_JOIN,     /* /join: ARGUMENT is the token (may be empty or wrong) */
	CHAT_NICK,     /* /nick with a valid name: ARGUMENT */
	CHAT_BAD_NICK, /* /nick with an empty, over-long or ill-formed name: ARGUMENT */
	CHAT_WHO,
	CHAT_QUIT,     /* /quit or END */
	CHAT_PING,
	CHAT_UNKNOWN,  /* another /command: ARGUMENT is the command word */
};

struct chat_request {
	enum chat_kind kind;
	const char *argument; /* points into the datagram; not NUL-terminated */
	size_t length;
};

/* Reads what the datagram DATA (LENGTH bytes, any bytes at all) asks for. */
void chat_parse(const char *data, size_t length, struct chat_request *request);

/*
 * True if the message TEXT (LENGTH bytes) is text: valid UTF-8 without NUL
 * bytes. Control characters such as ESC are text here; clients escape them.
 */
bool chat_text_valid(const char *text, size_t length);

/* True if NAME (LENGTH bytes) may be a member's name. */
bool chat_name_valid(const char *name, size_t length);

/*
 * Writes TEXT (LENGTH bytes) as it is relayed: each of its lines as
 * "PREFIX>> line\n". Returns the length written, or 0 if it would not fit in
 * SIZE bytes.
 */
size_t chat_format_relay(const char *prefix, const char *text, size_t length, char *out,
			 size_t size);

/*
 * Writes the welcome line a new member gets into OUT (SIZE bytes):
 * "* welcome, you are LABEL (N members; idle timeout T s)". Returns its length.
 */
size_t chat_welcome(const char *label, size_t members, unsigned long idle_timeout, char *out,
		    size_t size);

/*
 * If DATA (LENGTH bytes) is a welcome line, stores its idle timeout in
 * *IDLE_TIMEOUT and returns true.
 */
bool chat_welcome_timeout(const char *data, size_t length, unsigned long *idle_timeout);

/*
 * Writes TOKEN's "/join TOKEN" (TOKEN NULL: a bare "/join") padded with
 * blanks and a newline to CHAT_PADDED_LENGTH bytes into OUT (SIZE bytes).
 * Returns its length, or 0 if it does not fit (TOKEN too long, SIZE too small).
 */
size_t chat_format_join(const char *token, char *out, size_t size);

/* Writes "/ping", padded as chat_format_join pads, into OUT (SIZE bytes). Returns its length or 0. */
size_t chat_format_ping(char *out, size_t size);

/* Room for "/nick NAME\n" with the longest name, and a NUL. */
#define CHAT_NICK_LINE_SIZE (sizeof "/nick " - 1 + CHAT_NAME_MAX + 2)

/*
 * Writes "/nick NAME\n" into OUT (SIZE bytes). Returns its length, or 0 if
 * NAME (a C string) is not a valid name or the line does not fit.
 */
size_t chat_format_nick(const char *name, char *out, size_t size);

/* Writes the challenge line for TOKEN into OUT (SIZE bytes); returns its length. */
size_t chat_challenge(const char *token, char *out, size_t size);

/*
 * If DATA (LENGTH bytes) is the server's challenge, copies its token into
 * TOKEN (NUL-terminated) and returns true.
 */
bool chat_challenge_token(const char *data, size_t length, char token[CHAT_TOKEN_LENGTH + 1]);

#endif
