/*
 * echo: the echo service. Every byte the client sends comes back to it,
 * unchanged and in order, until it closes its side (RFC 862 over TCP).
 */
#ifndef FORKNET_ECHO_H
#define FORKNET_ECHO_H

#include "service.h"

extern const struct service echo_service;

#endif
