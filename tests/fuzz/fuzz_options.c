/*
 * fuzz_options: a libFuzzer target for the servers' command-line parsers,
 * server_config_parse (src/server/config.h) and chat_config_parse
 * (src/chat/config.h), and through them for options_problem and
 * options_number (src/lib/options.h), which word what is wrong.
 *
 * An input is a choice, then words. Bit 0 of its first byte picks the parser
 * (0: the TCP servers', 1: the chat server's); the other bits size a small
 * error buffer for the second parse (1 to 128 bytes). The rest is cut at NUL
 * bytes into at most WORDS_MAX words, each in a block of exactly its size,
 * which follow the command name as argv[1..]. The argv is parsed from the
 * defaults three times, each time from a fresh copy of the pointers
 * (getopt_long reorders them): with the callers' 256-byte error buffer,
 * again, and with the small one. Checked:
 *   - the result is CONFIG_OK, CONFIG_HELP or CONFIG_ERROR, the same each
 *     time, and so is the configuration, field for field;
 *   - the words are left as they were, and argv comes back a reordering of
 *     the same pointers, still ended by NULL;
 *   - on CONFIG_ERROR the error is NUL-terminated inside its buffer, not
 *     empty, and on one line unless a word it may quote has a newline of its
 *     own (quoting is raw here; cli_error escapes when it prints); when not
 *     cut short it has the shape "WHAT: WHY"; in the small buffer it is the
 *     same message cut short;
 *   - CONFIG_HELP only when some word asks for it: "-...h..." or "--h...";
 *   - on CONFIG_OK every field is within what config.h and forknet(1)
 *     document: the bind address is NULL or a valid host (addr_host_kind)
 *     lying inside one of the words, the model is one of the models, the
 *     limits are in range (children 1..SERVER_MAX_CHILDREN_LIMIT, grace
 *     0..SERVER_GRACE_LIMIT; members 1..CHAT_MAX_CLIENTS_LIMIT, idle timeout
 *     1..86400, message 1..CHAT_MAX_MESSAGE_LIMIT), and the log level is one
 *     of the levels.
 * Only the parsers' signatures and the documented limits are relied on, not
 * the list of options, which grows.
 * A broken invariant prints which one and calls abort(), which libFuzzer
 * reports as a crash and keeps the input.
 *
 * Run: make fuzz [FUZZ_SECONDS=60], or by hand
 *   build-fuzz/fuzz_options -max_total_time=60 DIR tests/fuzz/corpus/options
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/config.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "server/config.h"
#include "server/models.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* Words after the command name. */
#define WORDS_MAX 16

/* The error buffer the commands give the parsers. */
#define ERROR_SIZE 256

/* The port server_config_defaults is given (the echo server's). */
#define DEFAULT_PORT 9000

/* The words of one input, each in its own block, and a pristine copy of argv. */
struct words {
	char *argv[WORDS_MAX + 2];
	size_t lengths[WORDS_MAX + 1];
	int argc;
	const uint8_t *data; /* where each word came from, to see that none was written */
	size_t offsets[WORDS_MAX + 1];
};

/* The result of one parse, with the configuration it left. */
struct parse {
	enum config_result result;
	struct server_config server;
	struct chat_config chat;
	char *error;
	size_t error_size;
};

static bool any_word_has(const struct words *words, char c)
{
	for (int i = 1; i < words->argc; i++)
		if (strchr(words->argv[i], c) != NULL)
			return true;
	return false;
}

/* True when some word could ask for help: a cluster of short options with 'h', or "--h...". */
static bool help_asked(const struct words *words)
{
	for (int i = 1; i < words->argc; i++) {
		const char *word = words->argv[i];
		if (word[0] == '-' && word[1] != '-' && strchr(word, 'h') != NULL)
			return true;
		if (strncmp(word, "--h", 3) == 0)
			return true;
	}
	return false;
}

/* True when TEXT lies inside one of the words (as optarg does). */
static bool inside_a_word(const struct words *words, const char *text)
{
	for (int i = 1; i < words->argc; i++) {
		const char *word = words->argv[i];
		if (text >= word && text <= word + words->lengths[i])
			return true;
	}
	return false;
}

static bool valid_bind(const struct words *words, const char *bind)
{
	return bind == NULL || (inside_a_word(words, bind) && addr_host_kind(bind) != HOST_INVALID);
}

static bool valid_log_level(enum log_level level)
{
	return level == LOG_LEVEL_ERROR || level == LOG_LEVEL_WARNING || level == LOG_LEVEL_NOTICE ||
	       level == LOG_LEVEL_INFO || level == LOG_LEVEL_DEBUG;
}

/*
 * Gives a value at either end of its range a branch of its own. libFuzzer
 * keeps an input only for new coverage, and nothing else tells it that
 * "-c 65536" differs from "-c 2": with this it keeps the input at the limit,
 * and mutates it one past.
 */
static volatile unsigned limits_reached;
#define NOTE_LIMITS(value, low, high)       \
	do {                                \
		if ((value) == (low))       \
			limits_reached++;   \
		else if ((value) == (high)) \
			limits_reached++;   \
	} while (0)

/* MODEL is a row of the model table. */
static bool known_model(const struct server_model *model)
{
	for (size_t i = 0; i < server_model_count; i++)
		if (model == server_models[i])
			return true;
	return false;
}

static void check_server_config(const struct words *words, const struct server_config *config)
{
	CHECK(valid_bind(words, config->bind));
	CHECK(known_model(config->model));
	CHECK(config->max_children >= 1 && config->max_children <= SERVER_MAX_CHILDREN_LIMIT);
	CHECK(config->grace_seconds <= SERVER_GRACE_LIMIT);
	CHECK(valid_log_level(config->log_level));
	NOTE_LIMITS(config->port, 0, 65535);
	NOTE_LIMITS(config->max_children, 1, SERVER_MAX_CHILDREN_LIMIT);
	NOTE_LIMITS(config->grace_seconds, 0, SERVER_GRACE_LIMIT);
}

static void check_chat_config(const struct words *words, const struct chat_config *config)
{
	CHECK(valid_bind(words, config->bind));
	CHECK(config->max_clients >= 1 && config->max_clients <= CHAT_MAX_CLIENTS_LIMIT);
	CHECK(config->idle_timeout >= 1 && config->idle_timeout <= 86400); /* forknet(1) */
	CHECK(config->max_message >= 1 && config->max_message <= CHAT_MAX_MESSAGE_LIMIT);
	CHECK(valid_log_level(config->log_level));
	NOTE_LIMITS(config->port, 0, 65535);
	NOTE_LIMITS(config->max_clients, 1, CHAT_MAX_CLIENTS_LIMIT);
	NOTE_LIMITS(config->idle_timeout, 1, 86400);
	NOTE_LIMITS(config->max_message, 1, CHAT_MAX_MESSAGE_LIMIT);
	NOTE_LIMITS(config->rate, 0, 1000000);
}

/* Parses a fresh copy of WORDS' argv with the parser CHAT picks, into PARSE. */
static void parse_words(const struct words *words, bool chat, struct parse *parse)
{
	char *argv[WORDS_MAX + 2];
	memcpy(argv, words->argv, sizeof argv);

	/* The whole structures are compared later: zero their padding too. */
	memset(&parse->server, 0, sizeof parse->server);
	memset(&parse->chat, 0, sizeof parse->chat);
	memset(parse->error, 'X', parse->error_size);
	if (chat) {
		chat_config_defaults(&parse->chat);
		parse->result = chat_config_parse(&parse->chat, words->argc, argv, parse->error,
						  parse->error_size);
	} else {
		server_config_defaults(&parse->server, DEFAULT_PORT);
		parse->result = server_config_parse(&parse->server, words->argc, argv,
						    parse->error, parse->error_size);
	}
	CHECK(parse->result == CONFIG_OK || parse->result == CONFIG_HELP ||
	      parse->result == CONFIG_ERROR);

	/* argv is the same pointers in some order, still ended by NULL; the words are untouched. */
	CHECK(argv[words->argc] == NULL);
	for (int i = 0; i < words->argc; i++) {
		int seen = 0, wanted = 0;
		for (int j = 0; j < words->argc; j++) {
			seen += argv[j] == words->argv[i];
			wanted += words->argv[j] == words->argv[i];
		}
		CHECK(seen == wanted);
	}
	for (int i = 1; i < words->argc; i++) {
		CHECK(words->argv[i][words->lengths[i]] == '\0');
		CHECK(memcmp(words->argv[i], words->data + words->offsets[i], words->lengths[i]) == 0);
	}
}

static void check_error(const struct words *words, const struct parse *parse)
{
	const char *end = memchr(parse->error, '\0', parse->error_size);
	CHECK(end != NULL);
	size_t length = (size_t)(end - parse->error);
	CHECK(length < parse->error_size);
	if (parse->error_size > 1)
		CHECK(length > 0);
	if (!any_word_has(words, '\n'))
		CHECK(strchr(parse->error, '\n') == NULL);
	if (length + 1 < parse->error_size)
		CHECK(strstr(parse->error, ": ") != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool chat = data[0] & 1;
	size_t small_size = 1 + (size_t)(data[0] >> 1);
	data++;
	size--;

	/* The words: argv[0] is the command name, then the input cut at NUL bytes. */
	struct words words;
	memset(&words, 0, sizeof words);
	static char echo_name[] = "echo-server", chat_name[] = "chat-server";
	words.argv[0] = chat ? chat_name : echo_name;
	words.argc = 1;
	words.data = data;
	size_t at = 0;
	while (at < size && words.argc <= WORDS_MAX) {
		const uint8_t *nul = memchr(data + at, '\0', size - at);
		size_t length = nul != NULL ? (size_t)(nul - (data + at)) : size - at;
		char *word = malloc(length + 1);
		CHECK(word != NULL);
		memcpy(word, data + at, length);
		word[length] = '\0';
		words.argv[words.argc] = word;
		words.lengths[words.argc] = length;
		words.offsets[words.argc] = at;
		words.argc++;
		at += length + 1;
	}
	words.argv[words.argc] = NULL;

	struct parse first, second, small;
	first.error_size = second.error_size = ERROR_SIZE;
	small.error_size = small_size;
	first.error = malloc(ERROR_SIZE);
	second.error = malloc(ERROR_SIZE);
	small.error = malloc(small_size);
	CHECK(first.error != NULL && second.error != NULL && small.error != NULL);

	parse_words(&words, chat, &first);
	parse_words(&words, chat, &second);
	parse_words(&words, chat, &small);

	CHECK(second.result == first.result && small.result == first.result);
	CHECK(memcmp(&second.server, &first.server, sizeof first.server) == 0);
	CHECK(memcmp(&second.chat, &first.chat, sizeof first.chat) == 0);
	CHECK(memcmp(&small.server, &first.server, sizeof first.server) == 0);
	CHECK(memcmp(&small.chat, &first.chat, sizeof first.chat) == 0);

	switch (first.result) {
	case CONFIG_OK:
		if (chat)
			check_chat_config(&words, &first.chat);
		else
			check_server_config(&words, &first.server);
		break;
	case CONFIG_HELP:
		CHECK(help_asked(&words));
		break;
	case CONFIG_ERROR:
		check_error(&words, &first);
		check_error(&words, &small);
		CHECK(strcmp(second.error, first.error) == 0);
		/* The small buffer holds the message's beginning. */
		CHECK(strncmp(small.error, first.error, small_size - 1) == 0);
		break;
	}

	free(small.error);
	free(second.error);
	free(first.error);
	for (int i = 1; i < words.argc; i++)
		free(words.argv[i]);
	return 0;
}
