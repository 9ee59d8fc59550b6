/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a unix stream socket on which a client sends one
 * JSON request per line, {"command": ..., "args": {...}}, and reads one
 * JSON reply per line, {"ok": true, "result": ...} or {"ok": false,
 * "error": ...}. docs/operator.md is the reference for every command.
 * Runs on the control thread, from the event loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_cycles.h>

#include "vuswitchd.h"
#include "ctl_json.h"

#define CTL_LINE_MAX	65536

struct client {
	int fd;
	size_t len;
	char buf[CTL_LINE_MAX];
};

static int listen_fd = -1;
static char listen_path[108];
static struct sw *the_sw;

typedef json_t *(*cmd_fn)(struct sw *sw, json_t *args, char *err,
			  size_t errlen);

struct cmd {
	const char *name;
	cmd_fn fn;
};

static const struct cmd cmds[] = {
	{ "version", vsd_cmd_version },
	{ "list-ports", vsd_cmd_list_ports },
	{ "show-port", vsd_cmd_show_port },
	{ "add-port", vsd_cmd_add_port },
	{ "del-port", vsd_cmd_del_port },
	{ "show-stats", vsd_cmd_show_stats },
	{ "show-macs", vsd_cmd_show_macs },
	{ "add-mac", vsd_cmd_add_mac },
	{ "del-mac", vsd_cmd_del_mac },
	{ "show-workers", vsd_cmd_show_workers },
	{ "show-mbufs", vsd_cmd_show_mbufs },
	{ "rebalance", vsd_cmd_rebalance },
	{ "set-vlan", vsd_cmd_set_vlan },
	{ "capture-start", vsd_cmd_capture_start },
	{ "capture-stop", vsd_cmd_capture_stop },
};

static json_t *
dispatch(const char *line, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr), *args, *res = NULL;
	const char *name;
	unsigned int i;

	if (req == NULL || !json_is_object(req)) {
		snprintf(err, errlen, "request is not a JSON object");
		json_decref(req);
		return NULL;
	}
	name = json_string_value(json_object_get(req, "command"));
	args = json_object_get(req, "args");
	if (args != NULL && !json_is_object(args)) {
		snprintf(err, errlen, "args must be an object");
	} else if (name == NULL) {
		snprintf(err, errlen, "request has no command");
	} else {
		snprintf(err, errlen, "unknown command %s", name);
		for (i = 0; i < RTE_DIM(cmds); i++)
			if (strcmp(cmds[i].name, name) == 0) {
				json_t *empty = json_object();

				res = cmds[i].fn(the_sw, args != NULL ? args :
						 empty, err, errlen);
				json_decref(empty);
				break;
			}
	}
	json_decref(req);
	return res;
}

static int
send_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
reply(struct client *c, const char *line)
{
	char err[512] = "";
	json_t *res = dispatch(line, err, sizeof(err)), *r;
	char *out;
	int rc;

	if (res != NULL)
		r = json_pack("{s:b, s:o}", "ok", 1, "result", res);
	else
		r = json_pack("{s:b, s:s}", "ok", 0, "error", err);
	out = r != NULL ? json_dumps(r, JSON_COMPACT) : NULL;
	json_decref(r);
	if (out == NULL)
		return -1;
	rc = send_all(c->fd, out, strlen(out));
	if (rc == 0)
		rc = send_all(c->fd, "\n", 1);
	free(out);
	return rc;
}

static void
client_close(struct client *c)
{
	vsd_loop_watch(NULL, c->fd, 0, NULL, NULL);
	close(c->fd);
	free(c);
}

/* Answer every complete line in the buffer. */
static int
client_lines(struct client *c)
{
	char *nl;

	while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
		size_t used = (size_t)(nl - c->buf) + 1;

		*nl = '\0';
		if (reply(c, c->buf) < 0)
			return -1;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	return c->len == sizeof(c->buf) ? -1 : 0;	/* line too long */
}

static void
on_client(void *arg, int fd, uint32_t events)
{
	struct client *c = arg;
	ssize_t n;

	(void)fd;
	if ((events & VHU_EV_IN) == 0) {
		client_close(c);
		return;
	}
	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len,
		 MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	if (client_lines(c) < 0)
		client_close(c);
}

static void
on_accept(void *arg, int fd, uint32_t events)
{
	struct timeval tv = { .tv_sec = 2 };
	struct client *c;
	int cfd;

	(void)arg;
	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(cfd);
		return;
	}
	c->fd = cfd;
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (vsd_loop_watch(NULL, cfd, VHU_EV_IN, on_client, c) < 0) {
		close(cfd);
		free(c);
	}
}

int
vsd_ctl_open(struct sw *sw, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	the_sw = sw;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "vuswitchd: control socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (listen_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 16) < 0 ||
	    vsd_loop_watch(NULL, listen_fd, VHU_EV_IN, on_accept, NULL) < 0) {
		fprintf(stderr, "vuswitchd: control socket %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	strcpy(listen_path, path);
	return 0;
}

void
vsd_ctl_close(void)
{
	if (listen_fd < 0)
		return;
	close(listen_fd);
	unlink(listen_path);
	listen_fd = -1;
}
