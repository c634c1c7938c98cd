/*
 * chat_server: the `forknet chat-server` command, the course's UDP
 * ChatServer made safe to run on a network.
 *
 * Processes: one, with no children. The loop polls the UDP sockets and the
 * signal descriptor (lib/sig.h), with a timeout at the next idle expiry;
 * reads datagrams in batches (recvmmsg) and relays each message to the other
 * members in batches (sendmmsg), one system call for many members.
 *
 * Signals: SIGTERM or SIGINT makes it tell every member that it is going
 * away and exit 0. SIGPIPE is ignored (a closed --print-port reader).
 *
 * Safety: a stranger's datagram gets at most a challenge, never longer than
 * itself and within per-address, per-network and overall budgets
 * (admission.h, which decides; this file only sends), so a forged source
 * address can neither make the server relay anything nor turn it into an
 * amplifier; a member over its --rate has the excess dropped; a datagram
 * over --max-message is refused. The member list never grows past
 * --max-clients, and the admission state is fixed in size.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include "../cli.h"
#include "../signals.h"
#include "../lib/clock.h"
#include "../lib/io.h"
#include "../lib/listeners.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "../lib/text.h"
#include "../lib/throttle.h"
#include "admission.h"
#include "config.h"
#include "members.h"
#include "protocol.h"

#define RECEIVE_BATCH 32
#define SEND_BATCH 256
/* Batches read per socket and wake-up, so that one busy socket cannot starve the rest. */
#define RECEIVE_ROUNDS 8
/* Room for any one-line notice or error the server writes. */
#define LINE_MAX_SIZE 512
/* What the receive buffer of each socket is asked to hold. */
#define RECEIVE_BUFFER_BYTES (4 * 1024 * 1024)
/* Datagrams from non-members left unanswered: at most one line about them per this many seconds. */
#define DROPS_LOG_SECONDS 60

struct chat_server {
	const struct chat_config *config;
	struct listeners listeners;
	int signal_fd;
	struct timespec started;
	unsigned long long joins;   /* members taken in since start */
	unsigned long long relayed; /* messages relayed since start */
	struct members members;
	struct admission admission;
	struct throttle drops_log;                    /* datagrams from non-members left unanswered */
	unsigned long drops_logged[ADMISSION_VERDICTS]; /* admission.verdicts as last logged */

	struct mmsghdr in[RECEIVE_BATCH];
	struct iovec in_iov[RECEIVE_BATCH];
	struct sockaddr_storage in_from[RECEIVE_BATCH];
	struct {
		_Alignas(struct cmsghdr) unsigned char bytes[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
							     CMSG_SPACE(sizeof(struct in_pktinfo))];
	} in_control[RECEIVE_BATCH]; /* each datagram's local address (see struct route) */
	char *in_buffers; /* RECEIVE_BATCH buffers of in_size bytes */
	size_t in_size;

	struct mmsghdr out[SEND_BATCH];
	struct iovec out_iov;
	char relay[CHAT_DATAGRAM_MAX]; /* the datagram being relayed */
};

/* "alice (127.0.0.1:5000)" or "127.0.0.1:5000", for the log. Returns BUF. */
static const char *describe(const struct member *member, char *buf, size_t size)
{
	char address[ADDRESS_TEXT_MAX];

	addr_format(&member->address, address, sizeof address);
	if (member->name[0] != '\0')
		snprintf(buf, size, "%s (%s)", member->name, address);
	else
		snprintf(buf, size, "%s", address);
	return buf;
}

/* The message header for sending a datagram along ROUTE to ADDRESS (IOV: what). */
static struct msghdr header_for(const struct route *route, const struct address *address,
				struct iovec *iov)
{
	return (struct msghdr){
		.msg_name = (void *)&address->storage,
		.msg_namelen = address->length,
		.msg_iov = iov,
		.msg_iovlen = 1,
		.msg_control = route->control_length > 0 ? (void *)route->control.bytes : NULL,
		.msg_controllen = route->control_length,
	};
}

/* Sends one datagram to ADDRESS along ROUTE. Failures are the peer's: logged. */
static void send_one(struct chat_server *cs, const struct route *route,
		     const struct address *address, const char *text, size_t length)
{
	char where[ADDRESS_TEXT_MAX];
	struct iovec iov = {.iov_base = (void *)text, .iov_len = length};
	struct msghdr header = header_for(route, address, &iov);

	while (sendmsg(cs->listeners.fds[route->socket], &header, 0) < 0) {
		if (errno == EINTR)
			continue;
		int error = errno;
		log_debug("send to %s: %s", addr_format(address, where, sizeof where), strerror(error));
		return;
	}
}

/* Sends a line made from FORMAT to ADDRESS along ROUTE. */
static void reply(struct chat_server *cs, const struct route *route, const struct address *address,
		  const char *format, ...) __attribute__((format(printf, 4, 5)));

static void reply(struct chat_server *cs, const struct route *route, const struct address *address,
		  const char *format, ...)
{
	char line[LINE_MAX_SIZE];
	va_list args;

	va_start(args, format);
	int length = vsnprintf(line, sizeof line, format, args);
	va_end(args);
	if (length > 0)
		send_one(cs, route, address, line, (size_t)length < sizeof line ? (size_t)length
										: sizeof line - 1);
}

/* Sends the COUNT prepared messages of cs->out through SOCKET, skipping any that fail. */
static void send_batch(struct chat_server *cs, size_t socket, unsigned count)
{
	char where[ADDRESS_TEXT_MAX];
	unsigned sent = 0;

	while (sent < count) {
		int result = sendmmsg(cs->listeners.fds[socket], cs->out + sent, count - sent, 0);
		if (result > 0) {
			sent += (unsigned)result;
		} else if (result < 0 && errno == EINTR) {
			continue;
		} else {
			/* sendmmsg reports an error only for the first message it tries: skip that one. */
			int error = errno;
			const struct msghdr *failed = &cs->out[sent].msg_hdr;
			struct address address = {.length = failed->msg_namelen};
			memcpy(&address.storage, failed->msg_name, failed->msg_namelen);
			log_debug("send to %s: %s", addr_format(&address, where, sizeof where),
				  strerror(error));
			sent++;
		}
	}
}

/* Sends TEXT to every member but EXCEPT (which may be NULL), in batches per socket. */
static void broadcast(struct chat_server *cs, const struct member *except, const char *text,
		      size_t length)
{
	cs->out_iov = (struct iovec){.iov_base = (void *)text, .iov_len = length};
	for (size_t socket = 0; socket < cs->listeners.count; socket++) {
		unsigned batch = 0;
		for (size_t i = 0; i < cs->members.count; i++) {
			struct member *member = &cs->members.list[i];
			if (member == except || member->route.socket != socket)
				continue;
			cs->out[batch].msg_hdr = header_for(&member->route, &member->address, &cs->out_iov);
			if (++batch == SEND_BATCH) {
				send_batch(cs, socket, batch);
				batch = 0;
			}
		}
		if (batch > 0)
			send_batch(cs, socket, batch);
	}
}

/* A notice line made from FORMAT, to every member but EXCEPT. */
static void announce(struct chat_server *cs, const struct member *except, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

static void announce(struct chat_server *cs, const struct member *except, const char *format, ...)
{
	char line[LINE_MAX_SIZE];
	va_list args;

	va_start(args, format);
	int length = vsnprintf(line, sizeof line, format, args);
	va_end(args);
	if (length > 0)
		broadcast(cs, except, line, (size_t)length < sizeof line ? (size_t)length
									 : sizeof line - 1);
}

/*
 * Takes note of a datagram from a non-member that got no answer (VERDICT
 * says why), from ADDRESS with LENGTH bytes. The first is logged, then at
 * most one line a minute with the counts, so that a flood cannot fill the log.
 */
static void note_dropped(struct chat_server *cs, const struct address *address, size_t length,
			 enum admission_verdict verdict, struct timespec now)
{
	char where[ADDRESS_TEXT_MAX];
	unsigned long count;
	double seconds;

	if (log_enabled(LOG_LEVEL_DEBUG)) /* a storm of forged datagrams passes here */
		log_debug("no answer to %zu bytes from %s: %s", length,
			  addr_format(address, where, sizeof where), admission_verdict_text(verdict));
	if (!throttle_due(&cs->drops_log, now, DROPS_LOG_SECONDS, &count, &seconds))
		return;
	const unsigned long *all = cs->admission.verdicts;
	unsigned long since[ADMISSION_VERDICTS];
	for (int i = 0; i < ADMISSION_VERDICTS; i++) {
		since[i] = all[i] - cs->drops_logged[i];
		cs->drops_logged[i] = all[i];
	}
	if (seconds == 0) {
		log_info("no answer to %zu bytes from %s: %s%s", length,
			 addr_format(address, where, sizeof where), admission_verdict_text(verdict),
			 verdict == ADMISSION_TOO_SHORT
				 ? " (a non-member's datagram is answered only if the answer is no longer:"
				   " pad /join with blanks to 64 bytes)"
				 : "");
		return;
	}
	unsigned long limits = since[ADMISSION_ADDRESS_LIMIT] + since[ADMISSION_PREFIX_LIMIT] +
			       since[ADMISSION_GLOBAL_LIMIT];
	log_write(limits > 0 ? LOG_LEVEL_WARNING : LOG_LEVEL_INFO,
		  "no answer to %lu datagram%s from non-members in the last %.0f s (%lu too short, "
		  "%lu address limit, %lu prefix limit, %lu overall limit); %lu answered",
		  count, text_plural(count), seconds, since[ADMISSION_TOO_SHORT],
		  since[ADMISSION_ADDRESS_LIMIT], since[ADMISSION_PREFIX_LIMIT],
		  since[ADMISSION_GLOBAL_LIMIT], since[ADMISSION_REPLY]);
}

/*
 * Takes ADDRESS in as a member, welcomes it and tells the others. NULL when
 * full. PROVEN: it has just sent back its token (not so with --open);
 * REQUEST: the length of the datagram that asked.
 */
static struct member *join(struct chat_server *cs, const struct route *route,
			   const struct address *address, bool proven, size_t request,
			   struct timespec now)
{
	char label[ADDRESS_TEXT_MAX], welcome[LINE_MAX_SIZE];

	struct member *member = members_add(&cs->members, address, route, now);
	if (member == NULL) {
		char full[LINE_MAX_SIZE];
		int written = snprintf(full, sizeof full, "! server full (%zu member%s)\n",
				       cs->members.count, text_plural(cs->members.count));
		size_t length = written > 0 && (size_t)written < sizeof full ? (size_t)written : 0;
		/*
		 * A non-member is never sent more than it sent (admission.h). With
		 * --open, where any datagram is welcomed at whatever length, that
		 * rule would protect nothing: there, only the rate limits apply.
		 */
		size_t room = cs->config->open ? SIZE_MAX : request;
		enum admission_verdict verdict =
			proven ? admission_proven(&cs->admission, address, room, length, now)
			       : admission_stranger(&cs->admission, address, room, length, now);
		if (verdict == ADMISSION_REPLY && length > 0)
			send_one(cs, route, address, full, length);
		/* Logged as often as answered: a replayed token must not fill the log. */
		log_write(verdict == ADMISSION_REPLY ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG,
			  "refused %s: server full (%zu member%s)%s",
			  addr_format(address, label, sizeof label), cs->members.count,
			  text_plural(cs->members.count),
			  verdict == ADMISSION_REPLY ? "" : "; not told");
		return NULL;
	}
	/*
	 * Coming back costs a message (its bucket was kept, see members.h), so
	 * that leaving and rejoining cannot outrun --rate. A newcomer's bucket
	 * has not started: it gets the whole burst.
	 */
	if (cs->config->rate > 0 && member->rate.started)
		(void)rate_allow(&member->rate, (double)cs->config->rate,
				 2.0 * (double)cs->config->rate, now);
	member_label(member, label, sizeof label);
	size_t length = chat_welcome(label, cs->members.count, cs->config->idle_timeout, welcome,
				     sizeof welcome);
	send_one(cs, route, address, welcome, length);
	announce(cs, member, "* %s joined\n", label);
	cs->joins++;
	log_info("%s joined; %zu member%s", label, cs->members.count, text_plural(cs->members.count));
	return member;
}

/* Removes MEMBER, telling the others it WHAT ("left", "timed out"). */
static void leave(struct chat_server *cs, struct member *member, const char *what)
{
	char label[ADDRESS_TEXT_MAX], who[ADDRESS_TEXT_MAX + CHAT_NAME_MAX + 4];

	member_label(member, label, sizeof label);
	describe(member, who, sizeof who);
	members_remove(&cs->members, member); /* MEMBER now holds another member, or nothing */
	announce(cs, NULL, "* %s %s\n", label, what);
	log_info("%s %s; %zu member%s", who, what, cs->members.count, text_plural(cs->members.count));
}

/* /nick: takes NAME if free. */
static void rename_member(struct chat_server *cs, struct member *member, const char *name,
			  size_t length)
{
	char old[ADDRESS_TEXT_MAX];
	struct member *holder = members_find_name(&cs->members, name, length);

	if (holder == member && memcmp(member->name, name, length) == 0) {
		reply(cs, &member->route, &member->address, "* you are %s\n", member->name);
		return;
	}
	if (holder != NULL && holder != member) {
		reply(cs, &member->route, &member->address, "! name %.*s is taken\n", (int)length, name);
		return;
	}
	member_label(member, old, sizeof old);
	memcpy(member->name, name, length);
	member->name[length] = '\0';
	reply(cs, &member->route, &member->address, "* you are now %s\n", member->name);
	announce(cs, member, "* %s is now %s\n", old, member->name);
	log_info("%s is now %s", old, member->name);
}

/* /who: the member list, to the asker only, in one datagram. */
static void list_members(struct chat_server *cs, const struct member *asker)
{
	char *text = cs->relay;
	size_t size = sizeof cs->relay;
	int written = snprintf(text, size, "* members (%zu):", cs->members.count);
	size_t length = (size_t)written;

	for (size_t i = 0; i < cs->members.count; i++) {
		char label[ADDRESS_TEXT_MAX];
		member_label(&cs->members.list[i], label, sizeof label);
		/* Keep room for ", ..." and the newline. */
		if (length + strlen(label) + 8 > size) {
			length += (size_t)snprintf(text + length, size - length, " ...");
			break;
		}
		length += (size_t)snprintf(text + length, size - length, "%s %s", i == 0 ? "" : ",",
					   label);
	}
	text[length++] = '\n';
	send_one(cs, &asker->route, &asker->address, text, length);
}

/*
 * The log level for a refusal of MEMBER's datagram: info at most once a
 * second per member, debug otherwise, so that even with --rate 0 a member
 * cannot fill the log.
 */
static enum log_level refusal_level(struct member *member, struct timespec now)
{
	if (member->logged && clock_seconds_between(member->last_logged, now) < 1.0)
		return LOG_LEVEL_DEBUG;
	member->logged = true;
	member->last_logged = now;
	return LOG_LEVEL_INFO;
}

/* A datagram from a member, which came along ROUTE. */
static void from_member(struct chat_server *cs, struct member *member, const struct route *route,
			const char *data, size_t length, bool truncated, struct timespec now)
{
	char who[ADDRESS_TEXT_MAX + CHAT_NAME_MAX + 4], label[ADDRESS_TEXT_MAX];
	const struct chat_config *config = cs->config;
	struct chat_request request;

	member->last_heard = now;
	member->route = *route; /* answer from where it last wrote to */
	if (config->rate > 0 &&
	    !rate_allow(&member->rate, (double)config->rate, 2.0 * (double)config->rate, now)) {
		if (!member->warned || clock_seconds_between(member->last_warned, now) >= 1.0) {
			member->warned = true;
			member->last_warned = now;
			reply(cs, &member->route, &member->address,
			      "! too fast: messages over %lu a second are dropped\n", config->rate);
			log_info("dropping from %s: over %lu messages a second",
				 describe(member, who, sizeof who), config->rate);
		}
		return;
	}
	chat_parse(data, length, &request);
	if (truncated || (request.kind == CHAT_MESSAGE && request.length > config->max_message)) {
		reply(cs, &member->route, &member->address, "! message too long (limit %lu bytes)\n",
		      config->max_message);
		log_write(refusal_level(member, now), "refused from %s: message too long (%s%zu bytes)",
			  describe(member, who, sizeof who), truncated ? "over " : "",
			  truncated ? (size_t)config->max_message : request.length);
		return;
	}

	switch (request.kind) {
	case CHAT_MESSAGE: {
		if (!chat_text_valid(request.argument, request.length)) {
			reply(cs, &member->route, &member->address,
			      "! message refused: not UTF-8 text (or it holds NUL bytes)\n");
			log_write(refusal_level(member, now), "refused from %s: not text (%zu bytes)",
				  describe(member, who, sizeof who), request.length);
			return;
		}
		member_label(member, label, sizeof label);
		/*
		 * Every line gets the prefix, so many short lines would make a relay
		 * far larger than the message: at most twice --max-message (plus one
		 * prefix), so that one datagram in cannot become fourteen out.
		 */
		size_t limit = 2 * config->max_message + strlen(label) + 4;
		size_t out = chat_format_relay(label, request.argument, request.length, cs->relay,
					       limit < sizeof cs->relay ? limit : sizeof cs->relay);
		if (out == 0) {
			reply(cs, &member->route, &member->address,
			      "! message too long once every line is prefixed (limit %zu bytes)\n",
			      limit < sizeof cs->relay ? limit : sizeof cs->relay);
			log_write(refusal_level(member, now), "refused from %s: too many lines (%zu bytes)",
				  describe(member, who, sizeof who), request.length);
			return;
		}
		broadcast(cs, member, cs->relay, out);
		cs->relayed++;
		/* The hot path: do not even format the arguments unless they will be logged. */
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_debug("relayed %zu bytes from %s to %zu member%s", request.length,
				  describe(member, who, sizeof who), cs->members.count - 1,
				  text_plural(cs->members.count - 1));
		return;
	}
	case CHAT_EMPTY:
		log_debug("empty datagram from %s: taken as a ping", describe(member, who, sizeof who));
		return;
	case CHAT_PING:
		/* Heard from: that was the point. The answer tells the client we are still here. */
		send_one(cs, &member->route, &member->address, CHAT_PONG, sizeof CHAT_PONG - 1);
		return;
	case CHAT_JOIN:
		/* Already a member: the welcome may have been lost, so say it again. */
		member_label(member, label, sizeof label);
		length = chat_welcome(label, cs->members.count, config->idle_timeout, cs->relay,
				      sizeof cs->relay);
		send_one(cs, &member->route, &member->address, cs->relay, length);
		return;
	case CHAT_NICK:
		rename_member(cs, member, request.argument, request.length);
		return;
	case CHAT_BAD_NICK:
		reply(cs, &member->route, &member->address,
		      "! bad name: use 1 to %d letters, digits, '.', '_' or '-'\n", CHAT_NAME_MAX);
		return;
	case CHAT_WHO:
		list_members(cs, member);
		return;
	case CHAT_QUIT:
		reply(cs, &member->route, &member->address, "* bye\n");
		leave(cs, member, "left");
		return;
	case CHAT_UNKNOWN:
		reply(cs, &member->route, &member->address,
		      "! unknown command %.*s (try /nick NAME, /who, /quit)\n",
		      request.length > 32 ? 32 : (int)request.length, request.argument);
		return;
	}
}

/*
 * A datagram from an address that is not a member, which came along ROUTE:
 * it joins with a valid token; otherwise it may get a challenge, within the
 * limits of admission.h.
 */
static void from_stranger(struct chat_server *cs, const struct route *route,
			  const struct address *address, const char *data, size_t length,
			  bool truncated, struct timespec now)
{
	char where[ADDRESS_TEXT_MAX];

	if (cs->config->open) {
		struct chat_request request;
		chat_parse(data, length, &request);
		/* The course's behaviour: any datagram joins, and a message in it is relayed. */
		struct member *member = join(cs, route, address, false, length, now);
		if (member != NULL && request.kind != CHAT_JOIN)
			from_member(cs, member, route, data, length, truncated, now);
		return;
	}
	char challenge[CHAT_CHALLENGE_LENGTH + 1];
	enum admission_verdict verdict;
	switch (admission_answer(&cs->admission, address, data, length, now, challenge, &verdict)) {
	case ADMISSION_JOINS:
		join(cs, route, address, true, length, now);
		return;
	case ADMISSION_CHALLENGE:
		send_one(cs, route, address, challenge, CHAT_CHALLENGE_LENGTH);
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_debug("challenge to %s", addr_format(address, where, sizeof where));
		return;
	case ADMISSION_DROP:
		note_dropped(cs, address, length, verdict, now);
		return;
	}
}

/*
 * The way back to the sender of the datagram HEADER describes, received on
 * SOCKET: the local address it was sent to, as a control message to send
 * with (see struct route). Sockets bound to one address give none.
 */
static void route_of(struct route *route, size_t socket, struct msghdr *header)
{
	struct msghdr out = {.msg_control = route->control.bytes,
			     .msg_controllen = sizeof route->control.bytes};
	struct cmsghdr *answer = CMSG_FIRSTHDR(&out);

	route->socket = socket;
	route->control_length = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(header); c != NULL; c = CMSG_NXTHDR(header, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo received, source = {0};
			memcpy(&received, CMSG_DATA(c), sizeof received);
			source.ipi_spec_dst = received.ipi_spec_dst; /* our address it came to */
			*answer = (struct cmsghdr){.cmsg_level = IPPROTO_IP, .cmsg_type = IP_PKTINFO,
						   .cmsg_len = CMSG_LEN(sizeof source)};
			memcpy(CMSG_DATA(answer), &source, sizeof source);
			route->control_length = CMSG_SPACE(sizeof source);
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			/* Also for IPv4 on a dual-stack socket: the address comes v4-mapped. */
			struct in6_pktinfo received, source = {0};
			memcpy(&received, CMSG_DATA(c), sizeof received);
			source.ipi6_addr = received.ipi6_addr;
			*answer = (struct cmsghdr){.cmsg_level = IPPROTO_IPV6, .cmsg_type = IPV6_PKTINFO,
						   .cmsg_len = CMSG_LEN(sizeof source)};
			memcpy(CMSG_DATA(answer), &source, sizeof source);
			route->control_length = CMSG_SPACE(sizeof source);
		}
	}
}

/* Reads what SOCKET has, in batches. */
static void receive(struct chat_server *cs, size_t socket)
{
	char where[ADDRESS_TEXT_MAX];

	for (int round = 0; round < RECEIVE_ROUNDS; round++) {
		for (size_t i = 0; i < RECEIVE_BATCH; i++) {
			cs->in_iov[i] = (struct iovec){.iov_base = cs->in_buffers + i * cs->in_size,
						       .iov_len = cs->in_size};
			cs->in[i].msg_hdr = (struct msghdr){
				.msg_name = &cs->in_from[i],
				.msg_namelen = sizeof cs->in_from[i],
				.msg_iov = &cs->in_iov[i],
				.msg_iovlen = 1,
				.msg_control = cs->in_control[i].bytes,
				.msg_controllen = sizeof cs->in_control[i].bytes,
			};
		}
		int count = recvmmsg(cs->listeners.fds[socket], cs->in, RECEIVE_BATCH, MSG_DONTWAIT,
				     NULL);
		if (count < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warning("recvmmsg on %s: %s",
					    addr_format(&cs->listeners.addresses[socket], where,
							sizeof where),
					    strerror(errno));
			return;
		}
		struct timespec now = clock_now();
		for (int i = 0; i < count; i++) {
			struct msghdr *header = &cs->in[i].msg_hdr;
			struct route route = {0};
			route_of(&route, socket, header);
			struct address from = {.length = header->msg_namelen};
			memcpy(&from.storage, &cs->in_from[i], sizeof from.storage);
			/* MSG_TRUNC in msg_flags: the datagram was longer than the buffer. */
			bool truncated = (header->msg_flags & MSG_TRUNC) != 0;
			const char *data = cs->in_iov[i].iov_base;
			size_t length = cs->in[i].msg_len < cs->in_size ? cs->in[i].msg_len : cs->in_size;
			struct member *member = members_find(&cs->members, &from);
			if (member != NULL)
				from_member(cs, member, &route, data, length, truncated, now);
			else
				from_stranger(cs, &route, &from, data, length, truncated, now);
		}
		if (count < RECEIVE_BATCH)
			return;
	}
}

/* Removes the members silent for --idle-timeout; returns ms until the next may expire (-1: none). */
static int expire(struct chat_server *cs)
{
	double timeout = (double)cs->config->idle_timeout;
	struct timespec now = clock_now(); /* once: this runs at every wake-up, for every member */
	int next = -1;

	for (size_t i = 0; i < cs->members.count;) {
		struct member *member = &cs->members.list[i];
		double silent = clock_seconds_between(member->last_heard, now);
		if (silent < timeout) {
			int left = (int)((timeout - silent) * 1000.0) + 1; /* rounded up */
			if (next < 0 || left < next)
				next = left;
			i++;
			continue;
		}
		reply(cs, &member->route, &member->address,
		      "! idle for %lu s: you are no longer a member\n", cs->config->idle_timeout);
		leave(cs, member, "timed out"); /* moves the last member to place I: look again */
	}
	return next;
}

/* SIGUSR2: one line on what the server holds and has done. */
static void log_status(const struct chat_server *cs)
{
	const unsigned long *verdicts = cs->admission.verdicts;
	unsigned long unanswered = 0;

	for (int i = 0; i < ADMISSION_VERDICTS; i++)
		if (i != ADMISSION_REPLY)
			unanswered += verdicts[i];
	log_notice("status: %zu member%s (at most %lu), %llu joined and %llu message%s relayed in "
		   "%.0f s, %lu datagram%s from non-members unanswered",
		   cs->members.count, text_plural(cs->members.count), cs->config->max_clients,
		   cs->joins, cs->relayed, cs->relayed == 1 ? "" : "s",
		   clock_seconds_between(cs->started, clock_now()), unanswered,
		   text_plural(unanswered));
}

/* Acts on the pending signals as chat-server's column of the signal table says. True: stop. */
static bool handle_signals(struct chat_server *cs)
{
	enum signal_action action;
	int signo;
	char name[32];
	bool stop = false;

	sig_drain();
	while ((action = signals_next(SIGNAL_CHAT_SERVER, &signo)) != SIGNAL_DEFAULT) {
		sig_name(signo, name, sizeof name);
		switch (action) {
		case SIGNAL_STOP:
			log_notice("%s received: stopping", name);
			stop = true;
			break;
		case SIGNAL_REOPEN_LOG:
			signals_reopen_log(name);
			break;
		case SIGNAL_STATUS:
			log_status(cs);
			break;
		default: /* no other action in chat-server's column */
			break;
		}
	}
	return stop;
}

/* The loop; returns an exit status once stopped. */
static int run(struct chat_server *cs)
{
	for (;;) {
		struct pollfd fds[1 + LISTENERS_MAX];
		nfds_t count = 0;
		fds[count++] = (struct pollfd){.fd = cs->signal_fd, .events = POLLIN};
		for (size_t i = 0; i < cs->listeners.count; i++)
			fds[count++] = (struct pollfd){.fd = cs->listeners.fds[i], .events = POLLIN};

		int timeout = expire(cs);
		if (poll(fds, count, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return EX_OSERR;
		}
		if (fds[0].revents != 0 && handle_signals(cs))
			return EX_OK;
		for (nfds_t i = 1; i < count; i++)
			if (fds[i].revents != 0)
				receive(cs, i - 1);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: forknet chat-server [OPTION]...\n"
		"Relay each member's messages to the other members over UDP. An address\n"
		"joins by sending back the token it is sent (unless --open).\n"
		"\n"
		"%s"
		"\n"
		"Once listening, the server logs 'listening on ADDR:PORT'. SIGTERM,\n"
		"SIGINT or SIGQUIT tells the members it is going away and stops it;\n"
		"SIGUSR2 logs its status (see forknet(1), SIGNALS).\n",
		chat_config_options_help);
}

/*
 * On a socket bound to the wildcard address, asks for each datagram's local
 * address, to answer from it (see struct route). Returns 0 or -1.
 */
static int want_local_addresses(int fd, const struct address *bound)
{
	int one = 1;

	if (!addr_is_any(bound))
		return 0;
	if (addr_family(bound) == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
	return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
}

/* Opens and prepares everything; returns 0 or an exit status (reported). */
static int start(struct chat_server *cs, const struct chat_config *config)
{
	char address[ADDRESS_TEXT_MAX];

	cs->config = config;
	cs->started = clock_now();
	/*
	 * Room for the longest message and its line end, plus one byte to see
	 * MSG_TRUNC; and never less than a client's padded datagrams (its /join,
	 * token and pings), which a small --max-message must not cut.
	 */
	cs->in_size = (config->max_message > CHAT_PADDED_LENGTH ? config->max_message
								 : CHAT_PADDED_LENGTH) + 2;
	cs->in_buffers = malloc(RECEIVE_BATCH * cs->in_size);
	if (cs->in_buffers == NULL || members_init(&cs->members, config->max_clients) != 0) {
		cli_error("memory for %lu members: %s", config->max_clients, strerror(errno));
		return EX_OSERR;
	}
	if (admission_init(&cs->admission) != 0) {
		cli_error("getrandom: %s", strerror(errno));
		return EX_OSERR;
	}
	/*
	 * The signal table's chat-server column; among others, SIGPIPE is
	 * ignored, so that a write to a reader that has gone (the --print-port
	 * pipe) fails instead of killing the server.
	 */
	cs->signal_fd = signals_catch(SIGNAL_CHAT_SERVER, false);
	if (cs->signal_fd < 0) {
		cli_error("catching signals: %s", strerror(errno));
		return EX_OSERR;
	}
	struct failure failure;
	if (listeners_open(&cs->listeners, SOCK_DGRAM, config->bind, config->port, &failure) != 0)
		return cli_failure(&failure);
	for (size_t i = 0; i < cs->listeners.count; i++) {
		/*
		 * Blocking sends: a full send buffer makes the relay wait a moment
		 * rather than drop. Reads never block: they use MSG_DONTWAIT.
		 */
		if (io_set_nonblocking(cs->listeners.fds[i], 0) != 0) {
			cli_error("fcntl: %s", strerror(errno));
			return EX_OSERR;
		}
		if (want_local_addresses(cs->listeners.fds[i], &cs->listeners.addresses[i]) != 0) {
			cli_error("setsockopt PKTINFO: %s", strerror(errno));
			return EX_OSERR;
		}
		/*
		 * Room for bursts (a flood, a slow moment) so that the kernel does
		 * not drop a joining client's datagram among them. The kernel caps
		 * this at net.core.rmem_max; it is a wish, not a need.
		 */
		int room = RECEIVE_BUFFER_BYTES;
		if (setsockopt(cs->listeners.fds[i], SOL_SOCKET, SO_RCVBUF, &room, sizeof room) != 0)
			log_warning("setsockopt SO_RCVBUF: %s", strerror(errno));
		log_notice("listening on %s (chat, at most %lu member%s%s)",
			   addr_format(&cs->listeners.addresses[i], address, sizeof address),
			   config->max_clients, text_plural(config->max_clients),
			   config->open ? ", open: no address check" : "");
	}
	if (config->print_port && listeners_write_port(&cs->listeners, STDOUT_FILENO) != 0) {
		cli_error("write the port to standard output: %s", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}

int chat_server_main(int argc, char **argv)
{
	struct chat_config config;
	char error[256];

	chat_config_defaults(&config);
	switch (chat_config_parse(&config, argc, argv, error, sizeof error)) {
	case CONFIG_HELP:
		usage(stdout);
		return EX_OK;
	case CONFIG_ERROR:
		return cli_usage_error("chat-server", error);
	case CONFIG_OK:
		break;
	}
	log_set_level(config.log_level);

	struct chat_server *cs = calloc(1, sizeof *cs);
	if (cs == NULL) {
		cli_error("memory: %s", strerror(errno));
		return EX_OSERR;
	}
	int status = start(cs, &config);
	if (status == 0) {
		status = run(cs);
		log_notice("telling %zu member%s the server is going away", cs->members.count,
			   text_plural(cs->members.count));
		announce(cs, NULL, "* server shutting down\n");
		log_notice("stopped");
	}
	(void)listeners_close(&cs->listeners); /* exiting: nothing more to do about an error */
	(void)sig_reset();
	members_destroy(&cs->members);
	free(cs->in_buffers);
	free(cs);
	return status;
}
