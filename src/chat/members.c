/*
 * members: the member list. See members.h.
 */
#include "members.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

int members_init(struct members *members, size_t capacity)
{
	memset(members, 0, sizeof *members);
	members->list = calloc(capacity, sizeof *members->list);
	members->capacity = capacity;
	if (members->list == NULL && capacity > 0)
		return -1;
	return 0;
}

void members_destroy(struct members *members)
{
	free(members->list);
	memset(members, 0, sizeof *members);
}

bool members_full(const struct members *members)
{
	return members->count >= members->capacity;
}

struct member *members_find(struct members *members, const struct address *address)
{
	for (size_t i = 0; i < members->count; i++)
		if (addr_equal(&members->list[i].address, address))
			return &members->list[i];
	return NULL;
}

struct member *members_find_name(struct members *members, const char *name, size_t length)
{
	if (length == 0)
		return NULL; /* members without a name are not called "" */
	for (size_t i = 0; i < members->count; i++) {
		/* "Alice" and "alice" are one name: no one may pass for another by case. */
		const char *own = members->list[i].name;
		if (strlen(own) == length && strncasecmp(own, name, length) == 0)
			return &members->list[i];
	}
	return NULL;
}

struct member *members_add(struct members *members, const struct address *address,
			   const struct route *route, struct timespec now)
{
	if (members_full(members))
		return NULL;
	struct member *member = &members->list[members->count++];
	memset(member, 0, sizeof *member);
	member->address = *address;
	member->route = *route;
	member->last_heard = now;
	for (size_t i = 0; i < MEMBERS_DEPARTED; i++) {
		if (members->departed[i].address.storage.ss_family != 0 &&
		    addr_equal(&members->departed[i].address, address)) {
			member->rate = members->departed[i].rate;
			memset(&members->departed[i], 0, sizeof members->departed[i]);
			break;
		}
	}
	return member;
}

void members_remove(struct members *members, struct member *member)
{
	members->departed[members->departed_next].address = member->address;
	members->departed[members->departed_next].rate = member->rate;
	members->departed_next = (members->departed_next + 1) % MEMBERS_DEPARTED;

	struct member *last = &members->list[members->count - 1];
	if (member != last)
		*member = *last;
	members->count--;
}

const char *member_label(const struct member *member, char *buf, size_t size)
{
	if (member->name[0] != '\0')
		snprintf(buf, size, "%s", member->name);
	else
		addr_format(&member->address, buf, size);
	return buf;
}
