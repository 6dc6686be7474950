// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iscsi-hba-ctl: manage the sessions of an iscsi-hba adapter through
 * /dev/iscsi_hba<N> (see iscsi_hba_ioctl.h).
 *
 * Build (from guest/linux): make iscsi-hba-ctl, or
 *   gcc -static -O2 -Wall -Wextra -I../../include -o iscsi-hba-ctl <this file>
 *
 * Exit status: 0 success (or a warning status), 1 the adapter answered
 * with an error status, 2 usage error or the ioctl failed.
 *
 * Copyright (c) 2026 The iscsi-hba authors
 */

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hw/iscsi-hba/iscsi-hba-abi.h"
#include "iscsi_hba_ioctl.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Internal: a usage error (exit status 2, with the usage text). */
#define USAGE 3

static const char *dev_path = "/dev/iscsi_hba0";

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: iscsi-hba-ctl [-d DEVICE] COMMAND [ARGS]\n"
		"\n"
		"  discover HOST[:PORT] [--chap USER SECRET]\n"
		"  login TARGET HOST[:PORT] [--chap USER SECRET] [--mutual TARGETUSER]\n"
		"        [--initiator NAME] [--header-digest] [--time2wait S] [--time2retain S]\n"
		"  logout SID\n"
		"  list\n"
		"  info SID\n"
		"  set-chap-secret SECRET\n"
		"  set-initiator-name NAME\n"
		"  get-initiator-name\n"
		"\n"
		"DEVICE defaults to /dev/iscsi_hba0.  SECRET is \"-\" (read from standard\n"
		"input) or @FILE (its first line), never the secret itself: the command\n"
		"line is readable by every user.  IPv6 portals are written [ADDR]:PORT.\n"
		"Exit status: 0 success or warning, 1 error status, 2 usage or ioctl error.\n");
}

static const char *isdsc(uint32_t status)
{
	const char *n = iscsi_hba_isdsc_name(status);

	return n ? n : "ISDSC_UNKNOWN";
}

/* Print a non-zero status; return the exit status it stands for. */
static int report(const char *what, uint32_t status, uint16_t detail)
{
	const char *meaning;

	if (!status)
		return 0;
	meaning = iscsi_hba_isdsc_meaning(status);
	fprintf(stderr, "%s: %s: %s (0x%08x), detail %u%s%s\n", what,
		iscsi_hba_nt_severity_name(status), isdsc(status), status,
		detail, meaning ? ": " : "", meaning ? meaning : "");
	return ISCSI_HBA_STATUS_IS_ERROR(status) ? 1 : 0;
}

static int xioctl(unsigned long req, void *arg, const char *what)
{
	int fd = open(dev_path, O_RDWR);
	int ret;

	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", dev_path, strerror(errno));
		return -1;
	}
	ret = ioctl(fd, req, arg);
	if (ret < 0)
		fprintf(stderr, "%s: %s: %s\n", dev_path, what, strerror(errno));
	close(fd);
	return ret;
}

static int copy_str(char *dst, size_t size, const char *src, const char *what)
{
	if (strlen(src) >= size) {
		fprintf(stderr, "%s too long (at most %zu bytes)\n", what, size - 1);
		return -1;
	}
	strcpy(dst, src);
	return 0;
}

/*
 * A secret comes from standard input ("-") or a file ("@FILE"), its first
 * line: on the command line every user could read it in /proc/PID/cmdline.
 */
static int read_secret(const char *arg, char *buf, size_t size)
{
	FILE *f = stdin;
	int ok;

	if (arg[0] == '@') {
		f = fopen(arg + 1, "r");
		if (!f) {
			fprintf(stderr, "secret file %s: %s\n", arg + 1, strerror(errno));
			return -1;
		}
	} else if (strcmp(arg, "-") != 0) {
		fprintf(stderr, "a secret on the command line is readable by every user: give - to read it from standard input, or @FILE\n");
		return -1;
	}
	ok = fgets(buf, size, f) != NULL;
	if (f != stdin)
		fclose(f);
	if (!ok) {
		fprintf(stderr, "no secret in %s\n",
			arg[0] == '@' ? arg + 1 : "standard input");
		return -1;
	}
	buf[strcspn(buf, "\r\n")] = 0;
	return 0;
}

/* HOST, HOST:PORT, [V6]:PORT, [V6] or a bare IPv6 address. */
static int parse_portal(const char *arg, struct iscsi_hba_login_params *p)
{
	char host[ISCSI_HBA_STRING_FIELD];
	const char *port = NULL, *colon;
	char *end;
	long v;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || (close[1] && close[1] != ':'))
			goto bad;
		if ((size_t)(close - arg - 1) >= sizeof(host))
			goto bad;
		memcpy(host, arg + 1, close - arg - 1);
		host[close - arg - 1] = 0;
		if (close[1] == ':')
			port = close + 2;
	} else {
		colon = strchr(arg, ':');
		if (colon && !strchr(colon + 1, ':')) {
			if ((size_t)(colon - arg) >= sizeof(host))
				goto bad;
			memcpy(host, arg, colon - arg);
			host[colon - arg] = 0;
			port = colon + 1;
		} else if (copy_str(host, sizeof(host), arg, "portal")) {
			return -1;
		}
	}
	if (!host[0])
		goto bad;
	strcpy(p->portal_host, host);
	if (port) {
		v = strtol(port, &end, 10);
		if (!*port || *end || v < 1 || v > 65535)
			goto bad;
		p->portal_port = htole16((uint16_t)v);
	}
	return 0;
bad:
	fprintf(stderr, "bad portal \"%s\": want HOST[:PORT] or [IPV6]:PORT\n", arg);
	return -1;
}

static int parse_u16(const char *s, uint16_t *out)
{
	char *end;
	long v = strtol(s, &end, 0);

	if (!*s || *end || v < 0 || v > 65535)
		return -1;
	*out = htole16((uint16_t)v);
	return 0;
}

static int parse_sid(const char *s, uint32_t *sid)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end || !v || v > 0xffffffffUL) {
		fprintf(stderr, "bad session id \"%s\"\n", s);
		return -1;
	}
	*sid = (uint32_t)v;
	return 0;
}

/* Options shared by discover and login; returns the index after them. */
static int parse_login_opts(int argc, char **argv, int i,
			    struct iscsi_hba_login_params *p, int login)
{
	char secret[ISCSI_HBA_STRING_FIELD];

	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--chap") && i + 2 < argc) {
			if (copy_str(p->chap_username, sizeof(p->chap_username),
				     argv[i + 1], "CHAP user name") ||
			    read_secret(argv[i + 2], secret, sizeof(secret)))
				return -1;
			memcpy(p->chap_secret, secret, strlen(secret));
			p->chap_secret_len = htole16((uint16_t)strlen(secret));
			memset(secret, 0, sizeof(secret));
			if (p->auth_type == ISCSI_HBA_AUTH_NONE)
				p->auth_type = ISCSI_HBA_AUTH_CHAP;
			i += 2;
		} else if (login && !strcmp(argv[i], "--mutual") && i + 1 < argc) {
			if (copy_str(p->target_chap_username,
				     sizeof(p->target_chap_username), argv[++i],
				     "target CHAP user name"))
				return -1;
			p->auth_type = ISCSI_HBA_AUTH_MUTUAL_CHAP;
		} else if (!strcmp(argv[i], "--initiator") && i + 1 < argc) {
			if (copy_str(p->initiator_name, sizeof(p->initiator_name),
				     argv[++i], "initiator name"))
				return -1;
		} else if (login && !strcmp(argv[i], "--header-digest")) {
			p->digest |= ISCSI_HBA_DIGEST_HEADER_CRC32C;
		} else if (login && !strcmp(argv[i], "--time2wait") && i + 1 < argc) {
			if (parse_u16(argv[++i], &p->time2wait))
				return -1;
		} else if (login && !strcmp(argv[i], "--time2retain") && i + 1 < argc) {
			if (parse_u16(argv[++i], &p->time2retain))
				return -1;
		} else {
			fprintf(stderr, "unknown or incomplete option \"%s\"\n", argv[i]);
			return -1;
		}
	}
	if (p->auth_type == ISCSI_HBA_AUTH_MUTUAL_CHAP && !p->chap_username[0]) {
		fprintf(stderr, "--mutual needs --chap\n");
		return -1;
	}
	return i;
}

static int cmd_discover(int argc, char **argv)
{
	struct iscsi_hba_ioc_discovery d;
	struct iscsi_hba_login_params *p = (void *)d.params;
	uint32_t size = 4096;
	char *buf = NULL, *s;
	int tries;

	memset(&d, 0, sizeof(d));
	if (argc < 2 || parse_portal(argv[1], p) ||
	    parse_login_opts(argc, argv, 2, p, 0) < 0)
		return USAGE;
	p->session_type = ISCSI_HBA_SESSION_DISCOVERY;

	for (tries = 0; tries < 3; tries++) {
		struct iscsi_hba_ioc_discovery r = d;

		free(buf);
		buf = calloc(1, size + 1);
		if (!buf)
			return 2;
		r.buf = (uintptr_t)buf;
		r.buf_len = size;
		if (xioctl(ISCSI_HBA_IOC_DISCOVERY, &r, "discovery") < 0) {
			free(buf);
			return 2;
		}
		if (r.status == ISDSC_BUFFER_TOO_SMALL && r.buf_len > size &&
		    r.buf_len <= ISCSI_HBA_IOC_DISCOVERY_MAX) {
			size = r.buf_len;
			continue;
		}
		if (ISCSI_HBA_STATUS_IS_ERROR(r.status)) {
			free(buf);
			return report("discovery", r.status, r.detail);
		}
		for (s = buf; s < buf + r.buf_len; s += strlen(s) + 1)
			printf("%s%s\n", strncmp(s, "TargetAddress=", 14) ? "" : "  ", s);
		free(buf);
		return report("discovery", r.status, r.detail);
	}
	free(buf);
	fprintf(stderr, "discovery: answer keeps growing\n");
	return 2;
}

static int cmd_login(int argc, char **argv)
{
	struct iscsi_hba_ioc_login l;
	struct iscsi_hba_login_params *p = (void *)l.params;
	int ret;

	memset(&l, 0, sizeof(l));
	if (argc < 3 ||
	    copy_str(p->target_name, sizeof(p->target_name), argv[1], "target name") ||
	    parse_portal(argv[2], p) || parse_login_opts(argc, argv, 3, p, 1) < 0)
		return USAGE;
	p->session_type = ISCSI_HBA_SESSION_NORMAL;
	if (xioctl(ISCSI_HBA_IOC_LOGIN, &l, "login") < 0)
		return 2;
	ret = report("login", l.status, l.detail);
	if (!ISCSI_HBA_STATUS_IS_ERROR(l.status)) {
		printf("session 0x%08x", l.session_id);
		if (l.target_id != ISCSI_HBA_IOC_NO_TARGET)
			printf(" scsi %u:0:%u:*", l.host_no, l.target_id);
		printf("\n");
	}
	return ret;
}

static int cmd_logout(int argc, char **argv)
{
	struct iscsi_hba_ioc_logout l;

	memset(&l, 0, sizeof(l));
	if (argc != 2 || parse_sid(argv[1], &l.session_id))
		return USAGE;
	if (xioctl(ISCSI_HBA_IOC_LOGOUT, &l, "logout") < 0)
		return 2;
	return report("logout", l.status, l.detail);
}

static const char *state_name(uint16_t state)
{
	switch (state) {
	case ISCSI_HBA_SESSION_STATE_LOGGING_IN:
		return "logging-in";
	case ISCSI_HBA_SESSION_STATE_LOGGED_IN:
		return "logged-in";
	case ISCSI_HBA_SESSION_STATE_RECONNECTING:
		return "reconnecting";
	case ISCSI_HBA_SESSION_STATE_FAILED:
		return "failed";
	default:
		return "unknown";
	}
}

static int get_info(uint32_t sid, struct iscsi_hba_ioc_session_info *si)
{
	memset(si, 0, sizeof(*si));
	si->session_id = sid;
	if (xioctl(ISCSI_HBA_IOC_SESSION_INFO, si, "session info") < 0)
		return 2;
	return report("session info", si->status, si->detail);
}

static int cmd_list(int argc, char **argv)
{
	struct iscsi_hba_ioc_session_info si;
	struct iscsi_hba_session_info *i = (void *)si.info;
	struct iscsi_hba_ioc_list l;
	uint32_t n;
	int ret = 0;

	(void)argv;
	if (argc != 1)
		return USAGE;
	memset(&l, 0, sizeof(l));
	if (xioctl(ISCSI_HBA_IOC_LIST_SESSIONS, &l, "list sessions") < 0)
		return 2;
	if (report("list sessions", l.status, l.detail))
		return 1;
	for (n = 0; n < l.count && n < ISCSI_HBA_IOC_MAX_SESSIONS; n++) {
		if (get_info(l.ids[n], &si)) {
			ret = 1;
			continue;
		}
		printf("0x%08x %-12s %.*s %.*s:%u", l.ids[n],
		       state_name(le16toh(i->state)),
		       ISCSI_HBA_STRING_FIELD, i->target_name,
		       ISCSI_HBA_STRING_FIELD, i->portal_host,
		       le16toh(i->portal_port));
		if (si.target_id != ISCSI_HBA_IOC_NO_TARGET)
			printf(" scsi %u:0:%u:*", si.host_no, si.target_id);
		if (le16toh(i->flags) & ISCSI_HBA_SESSION_HOST_CONFIGURED)
			printf(" host-configured");
		printf("\n");
	}
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	struct iscsi_hba_ioc_session_info si;
	struct iscsi_hba_session_info *i = (void *)si.info;
	uint32_t sid, last;
	uint16_t flags;
	int ret;

	if (argc != 2 || parse_sid(argv[1], &sid))
		return USAGE;
	ret = get_info(sid, &si);
	if (ret)
		return ret;
	flags = le16toh(i->flags);
	last = le32toh(i->last_status);
	printf("session_id:    0x%08x\n", le32toh(i->session_id));
	printf("state:         %s (%u)\n", state_name(le16toh(i->state)),
	       le16toh(i->state));
	printf("flags:         0x%04x%s%s\n", flags,
	       flags & ISCSI_HBA_SESSION_HOST_CONFIGURED ? " host-configured" : "",
	       flags & ISCSI_HBA_SESSION_MUTUAL_CHAP ? " mutual-chap" : "");
	printf("target:        %.*s\n", ISCSI_HBA_STRING_FIELD, i->target_name);
	printf("portal:        %.*s:%u\n", ISCSI_HBA_STRING_FIELD, i->portal_host,
	       le16toh(i->portal_port));
	printf("reconnects:    %u\n", le32toh(i->reconnects));
	printf("last_status:   %s (0x%08x)\n", last ? isdsc(last) : "none", last);
	printf("tsih:          %u\n", le16toh(i->tsih));
	printf("max_recv_dsl:  %u\n", le32toh(i->max_recv_data_segment_len));
	printf("max_burst:     %u\n", le32toh(i->max_burst_len));
	printf("first_burst:   %u\n", le32toh(i->first_burst_len));
	if (si.target_id != ISCSI_HBA_IOC_NO_TARGET)
		printf("scsi:          %u:0:%u:*\n", si.host_no, si.target_id);
	return 0;
}

static int cmd_set_chap_secret(int argc, char **argv)
{
	struct iscsi_hba_ioc_chap_secret cs;
	char secret[ISCSI_HBA_STRING_FIELD];
	int ret;

	if (argc != 2 || read_secret(argv[1], secret, sizeof(secret)))
		return USAGE;
	memset(&cs, 0, sizeof(cs));
	cs.len = (uint32_t)strlen(secret);
	memcpy(cs.secret, secret, cs.len);
	memset(secret, 0, sizeof(secret));
	cs.which = ISCSI_HBA_CHAP_SECRET_INITIATOR;
	ret = xioctl(ISCSI_HBA_IOC_SET_CHAP_SECRET, &cs, "set CHAP secret");
	memset(cs.secret, 0, sizeof(cs.secret));
	if (ret < 0)
		return 2;
	return report("set CHAP secret", cs.status, cs.detail);
}

static int cmd_set_name(int argc, char **argv)
{
	struct iscsi_hba_ioc_name nm;

	memset(&nm, 0, sizeof(nm));
	if (argc != 2 || copy_str(nm.name, sizeof(nm.name), argv[1], "initiator name"))
		return USAGE;
	nm.len = (uint32_t)strlen(nm.name);
	if (xioctl(ISCSI_HBA_IOC_SET_INITIATOR_NAME, &nm, "set initiator name") < 0)
		return 2;
	return report("set initiator name", nm.status, nm.detail);
}

static int cmd_get_name(int argc, char **argv)
{
	struct iscsi_hba_ioc_name nm;

	(void)argv;
	if (argc != 1)
		return USAGE;
	memset(&nm, 0, sizeof(nm));
	if (xioctl(ISCSI_HBA_IOC_GET_INITIATOR_NAME, &nm, "get initiator name") < 0)
		return 2;
	if (report("get initiator name", nm.status, nm.detail))
		return 1;
	printf("%.*s\n", (int)sizeof(nm.name), nm.name);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "discover", cmd_discover },
	{ "login", cmd_login },
	{ "logout", cmd_logout },
	{ "list", cmd_list },
	{ "info", cmd_info },
	{ "set-chap-secret", cmd_set_chap_secret },
	{ "set-initiator-name", cmd_set_name },
	{ "get-initiator-name", cmd_get_name },
};

int main(int argc, char **argv)
{
	size_t i;
	int ret;

	argv++;
	argc--;
	if (argc >= 2 && !strcmp(argv[0], "-d")) {
		dev_path = argv[1];
		argv += 2;
		argc -= 2;
	}
	if (argc < 1 || !strcmp(argv[0], "-h") || !strcmp(argv[0], "--help")) {
		print_usage(argc < 1 ? stderr : stdout);
		return argc < 1 ? 2 : 0;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (strcmp(argv[0], cmds[i].name))
			continue;
		ret = cmds[i].fn(argc, argv);
		if (ret == USAGE) {
			print_usage(stderr);
			ret = 2;
		}
		return ret;
	}
	fprintf(stderr, "unknown command \"%s\"\n", argv[0]);
	print_usage(stderr);
	return 2;
}
