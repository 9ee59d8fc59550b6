/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vuswitchctl: the operator's client for vuswitchd's control socket.
 * It checks one command line, turns it into one JSON request
 * ({"command": ..., "args": {...}}), sends it on the unix control socket,
 * reads the one-line JSON reply and prints its result: tables for people,
 * or with --json the result object itself. The protocol and the command
 * line are specified in docs/operator.md.
 *
 * Exit status: 0 done, 1 the daemon refused, 2 bad arguments (nothing is
 * sent), 3 no daemon (cannot connect, no reply within 10 s, bad reply).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#define DEFAULT_SOCKET	"/run/vuswitch/vuswitchd.ctl"
#define TIMEOUT_MS	10000
#define MAX_REPLY	(64u << 20)	/* bytes in one reply line */
#define MAX_POS		4		/* positional arguments of a command */
#define MAX_OPTS	8		/* options of a command */
#define MAX_COLS	12		/* columns of a table */
#define VLAN_MAX	4095
#define MTU_MIN		68
#define MTU_MAX		65535
#define QUEUES_MAX	65535
#define SNAPLEN_MAX	262144		/* libpcap's largest snapshot length */
#define DIM(a)		(sizeof(a) / sizeof((a)[0]))

enum {
	EXIT_DONE = 0,
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_NO_DAEMON = 3,
};

struct opt_def {
	const char *name;
	bool has_value;
};

/* One command line: positional words and option values (by opt_def). */
struct cmdline {
	const struct opt_def *opts;
	const char *pos[MAX_POS];
	unsigned int npos;
	const char *val[MAX_OPTS];	/* NULL: not given; "" for a flag */
};

struct cmd {
	const char *name;	/* as typed: "show-port", "capture start" */
	const char *request;	/* protocol command */
	const char *usage;	/* lines after "vuswitchctl " */
	unsigned int min_pos;
	unsigned int max_pos;
	const struct opt_def *opts;
	int (*build)(const struct cmdline *cl, json_t *args);
	void (*print)(const json_t *result);
};

/* Options valid anywhere: before or after the command. */
enum { G_JSON, G_SOCKET, G_HELP };
static const struct opt_def global_opts[] = {
	[G_JSON] = { "json", false },
	[G_SOCKET] = { "socket", true },
	[G_HELP] = { "help", false },
	{ NULL, false },
};
static const char *global_val[DIM(global_opts)];

static const char *cur_cmd;	/* for error messages */
static const char *socket_path;

/* ---- memory and strings ---- */

static void
oom(void)
{
	fputs("vuswitchctl: out of memory\n", stderr);
	exit(EXIT_REFUSED);
}

static char *
xstrdup(const char *s)
{
	char *d = strdup(s);

	if (d == NULL)
		oom();
	return d;
}

static char *
xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	return s;
}

/* ---- argument errors ---- */

static int
argerr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "vuswitchctl: [command: ]problem"; the caller returns -1 up. */
static int
argerr(const char *fmt, ...)
{
	va_list ap;

	fputs("vuswitchctl: ", stderr);
	if (cur_cmd != NULL)
		fprintf(stderr, "%s: ", cur_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* Strict decimal: digits only, no sign or blanks, within [min, max]. */
static int
parse_num(const char *what, const char *s, unsigned long min,
	  unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return argerr("%s: '%s' is not a number", what, s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0')
		return argerr("%s: '%s' is not a number", what, s);
	if (errno == ERANGE || v < min || v > max)
		return argerr("%s: %s is out of range %lu..%lu", what, s,
			      min, max);
	*out = v;
	return 0;
}

/* One VLAN id of a LIST at *p; advances *p past its digits. */
static int
list_num(const char **p, const char *list, unsigned long *v)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return argerr("'%s' is not a VLAN list "
			      "(like 10,20,100-199, or all)", list);
	errno = 0;
	*v = strtoul(*p, &end, 10);
	if (errno == ERANGE || *v > VLAN_MAX)
		return argerr("VLAN id %.*s in '%s' is out of range 0..%d",
			      (int)(end - *p), *p, list, VLAN_MAX);
	*p = end;
	return 0;
}

/* LIST -> sorted array of distinct VLAN ids; NULL after an error. */
static json_t *
parse_vlan_list(const char *list)
{
	bool in[VLAN_MAX + 1] = { false };
	const char *p = list;
	unsigned long lo, hi, v;
	json_t *a;

	for (;;) {
		if (list_num(&p, list, &lo) < 0)
			return NULL;
		hi = lo;
		if (*p == '-') {
			p++;
			if (list_num(&p, list, &hi) < 0)
				return NULL;
		}
		if (hi < lo) {
			argerr("VLAN range %lu-%lu in '%s' runs backwards",
			       lo, hi, list);
			return NULL;
		}
		for (v = lo; v <= hi; v++)
			in[v] = true;
		if (*p == '\0')
			break;
		if (*p++ != ',') {
			argerr("'%s' is not a VLAN list "
			       "(like 10,20,100-199, or all)", list);
			return NULL;
		}
	}
	a = json_array();
	for (v = 0; a != NULL && v <= VLAN_MAX; v++)
		if (in[v])
			json_array_append_new(a, json_integer((json_int_t)v));
	if (a == NULL)
		oom();
	return a;
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

/* "52:54:0:AB:cd:01" -> "52:54:00:ab:cd:01" in out[18]. */
static int
parse_mac(const char *s, char out[18])
{
	unsigned int b[6];
	const char *p = s;
	unsigned int i, n;

	for (i = 0; i < 6; i++) {
		if (i > 0 && *p++ != ':')
			goto bad;
		b[i] = 0;
		for (n = 0; n < 2 && isxdigit((unsigned char)*p); n++, p++)
			b[i] = b[i] * 16 + (unsigned int)hexval(*p);
		if (n == 0)
			goto bad;
	}
	if (*p != '\0')
		goto bad;
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5]);
	return 0;
bad:
	return argerr("'%s' is not a MAC address (xx:xx:xx:xx:xx:xx)", s);
}

/* ---- building the request's args ---- */

static const char *
opt(const struct cmdline *cl, const char *name)
{
	unsigned int k;

	for (k = 0; cl->opts[k].name != NULL; k++)
		if (strcmp(cl->opts[k].name, name) == 0)
			return cl->val[k];
	return NULL;
}

static int
set_str(json_t *args, const char *key, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL)
		return argerr("'%s' is not valid UTF-8", s);
	json_object_set_new(args, key, v);
	return 0;
}

/* args[key] = the number s (nothing when s is NULL: not given). */
static int
set_num(json_t *args, const char *key, const char *what, const char *s,
	unsigned long min, unsigned long max)
{
	unsigned long v = 0;

	if (s == NULL)
		return 0;
	if (parse_num(what, s, min, max, &v) < 0)
		return -1;
	json_object_set_new(args, key, json_integer((json_int_t)v));
	return 0;
}

static int
set_vlan(json_t *args, const char *key, const char *what, const char *s)
{
	return set_num(args, key, what, s, 0, VLAN_MAX);
}

/* args.trunks from LIST; "all" leaves it out (absent means all). */
static int
set_trunks(json_t *args, const char *list)
{
	json_t *a;

	if (strcmp(list, "all") == 0)
		return 0;
	a = parse_vlan_list(list);
	if (a == NULL)
		return -1;
	json_object_set_new(args, "trunks", a);
	return 0;
}

static int
set_mac(json_t *args, const char *s)
{
	char mac[18];

	if (parse_mac(s, mac) < 0)
		return -1;
	return set_str(args, "mac", mac);
}

/* args.file: FILE made absolute through the realpath of its directory. */
static int
set_file(json_t *args, const char *file)
{
	const char *slash = strrchr(file, '/');
	const char *base = slash != NULL ? slash + 1 : file;
	char *dir, *real, *abs;
	int ret;

	if (*base == '\0' || !strcmp(base, ".") || !strcmp(base, ".."))
		return argerr("'%s' does not name a file", file);
	if (slash == NULL)
		dir = xstrdup(".");
	else if (slash == file)
		dir = xstrdup("/");
	else
		dir = xasprintf("%.*s", (int)(slash - file), file);
	real = realpath(dir, NULL);
	if (real == NULL) {
		ret = argerr("directory '%s' of '%s': %s", dir, file,
			     strerror(errno));
		free(dir);
		return ret;
	}
	abs = xasprintf("%s/%s", strcmp(real, "/") ? real : "", base);
	ret = set_str(args, "file", abs);
	free(abs);
	free(real);
	free(dir);
	return ret;
}

static int
build_port(const struct cmdline *cl, json_t *args)
{
	return set_str(args, "port", cl->pos[0]);
}

static int
build_show_stats(const struct cmdline *cl, json_t *args)
{
	return cl->npos == 1 ? build_port(cl, args) : 0;
}

/* PORT-OPTIONS of add-port: --mtu --access --trunk --native --no-zero-copy */
static int
port_options(const struct cmdline *cl, json_t *args)
{
	const char *access = opt(cl, "access");
	const char *trunk = opt(cl, "trunk");

	if (set_num(args, "mtu", "--mtu", opt(cl, "mtu"), MTU_MIN,
		    MTU_MAX) < 0)
		return -1;
	if (access != NULL && trunk != NULL)
		return argerr("--access and --trunk exclude each other");
	if (access != NULL && opt(cl, "native") != NULL)
		return argerr("--native applies to trunk ports only");
	if (access != NULL && (set_str(args, "vlan_mode", "access") < 0 ||
			       set_vlan(args, "tag", "--access", access) < 0))
		return -1;
	if (trunk != NULL && (set_str(args, "vlan_mode", "trunk") < 0 ||
			      set_trunks(args, trunk) < 0))
		return -1;
	if (set_vlan(args, "native", "--native", opt(cl, "native")) < 0)
		return -1;
	if (opt(cl, "no-zero-copy") != NULL)
		json_object_set_new(args, "zero_copy", json_false());
	return 0;
}

static int
build_add_port(const struct cmdline *cl, json_t *args)
{
	const char *type = cl->pos[1];
	bool vhost = strcmp(type, "vhost-user") == 0;
	bool client = opt(cl, "client") != NULL;

	if (!vhost && strcmp(type, "ethdev") != 0)
		return argerr("port type must be vhost-user or ethdev, "
			      "not '%s'", type);
	if (!vhost && client)
		return argerr("--client applies to vhost-user ports only");
	if (set_str(args, "name", cl->pos[0]) < 0 ||
	    set_str(args, "type", type) < 0 ||
	    set_str(args, vhost ? "path" : "devargs", cl->pos[2]) < 0)
		return -1;
	if (vhost && set_str(args, "mode", client ? "client" : "server") < 0)
		return -1;
	if (set_num(args, "queues", "--queues", opt(cl, "queues"), 1,
		    QUEUES_MAX) < 0)
		return -1;
	return port_options(cl, args);
}

static int
build_set_vlan(const struct cmdline *cl, json_t *args)
{
	const char *mode = cl->pos[1];

	if (set_str(args, "port", cl->pos[0]) < 0)
		return -1;
	if (strcmp(mode, "access") == 0) {
		if (cl->npos != 3)
			return argerr("access mode needs a TAG");
		if (opt(cl, "native") != NULL)
			return argerr("--native applies to trunk mode only");
		if (set_str(args, "mode", mode) < 0)
			return -1;
		return set_vlan(args, "tag", "TAG", cl->pos[2]);
	}
	if (strcmp(mode, "trunk") != 0)
		return argerr("VLAN mode must be access or trunk, not '%s'",
			      mode);
	if (set_str(args, "mode", mode) < 0)
		return -1;
	if (cl->npos == 3 && set_trunks(args, cl->pos[2]) < 0)
		return -1;
	return set_vlan(args, "native", "--native", opt(cl, "native"));
}

static int
build_show_macs(const struct cmdline *cl, json_t *args)
{
	const char *port = opt(cl, "port");

	if (port != NULL && *port == '\0')
		return argerr("--port needs a port name");
	if (port != NULL && set_str(args, "port", port) < 0)
		return -1;
	return set_vlan(args, "vlan", "--vlan", opt(cl, "vlan"));
}

static int
build_add_mac(const struct cmdline *cl, json_t *args)
{
	if (set_mac(args, cl->pos[0]) < 0 ||
	    set_str(args, "port", cl->pos[1]) < 0)
		return -1;
	return set_vlan(args, "vlan", "--vlan", opt(cl, "vlan"));
}

static int
build_del_mac(const struct cmdline *cl, json_t *args)
{
	if (set_mac(args, cl->pos[0]) < 0)
		return -1;
	return set_vlan(args, "vlan", "--vlan", opt(cl, "vlan"));
}

static int
build_capture_start(const struct cmdline *cl, json_t *args)
{
	const char *dir = opt(cl, "direction");

	if (set_str(args, "port", cl->pos[0]) < 0 ||
	    set_file(args, cl->pos[1]) < 0)
		return -1;
	if (dir != NULL && strcmp(dir, "rx") != 0 && strcmp(dir, "tx") != 0 &&
	    strcmp(dir, "both") != 0)
		return argerr("--direction must be rx, tx or both, not '%s'",
			      dir);
	if (dir != NULL && set_str(args, "direction", dir) < 0)
		return -1;
	return set_num(args, "snaplen", "--snaplen", opt(cl, "snaplen"), 1,
		       SNAPLEN_MAX);
}

/* ---- tables ---- */

/* Column titles starting with '>' are right-aligned (the '>' not shown);
 * a table without titles (show_head false) prints key: value lines. */
struct table {
	const char *const *head;
	unsigned int ncols;
	bool show_head;
	char **cell;
	size_t n;
	size_t cap;
};

#define TABLE(h)	{ .head = (h), .ncols = DIM(h), .show_head = true }
#define KV_TABLE()	{ .head = kv_head, .ncols = 2, .show_head = false }

static const char *const kv_head[] = { "", "" };

static void
tbl_push(struct table *t, char *owned)
{
	if (t->n == t->cap) {
		size_t cap = t->cap != 0 ? t->cap * 2 : 32;
		char **c = realloc(t->cell, cap * sizeof(*c));

		if (c == NULL)
			oom();
		t->cell = c;
		t->cap = cap;
	}
	t->cell[t->n++] = owned;
}

static void
tbl_add(struct table *t, const char *s)
{
	tbl_push(t, xstrdup(s));
}

static const char *
title(const struct table *t, unsigned int c)
{
	return t->head[c] + (t->head[c][0] == '>');
}

static void
tbl_row(const struct table *t, const size_t *w, char *const *cells,
	const char *indent)
{
	unsigned int c;

	fputs(indent, stdout);
	for (c = 0; c < t->ncols; c++) {
		const char *sep = c + 1 == t->ncols ? "\n" : "  ";

		if (t->head[c][0] == '>')
			printf("%*s%s", (int)w[c], cells[c], sep);
		else if (c + 1 == t->ncols)
			printf("%s%s", cells[c], sep);
		else
			printf("%-*s%s", (int)w[c], cells[c], sep);
	}
}

static void
tbl_print(const struct table *t, const char *indent)
{
	char *titles[MAX_COLS] = { NULL };
	size_t w[MAX_COLS] = { 0 };
	size_t r, nrows = t->n / t->ncols;
	unsigned int c;

	for (c = 0; c < t->ncols; c++) {
		titles[c] = (char *)(uintptr_t)title(t, c);
		w[c] = t->show_head ? strlen(titles[c]) : 0;
		for (r = 0; r < nrows; r++)
			if (strlen(t->cell[r * t->ncols + c]) > w[c])
				w[c] = strlen(t->cell[r * t->ncols + c]);
	}
	if (t->show_head)
		tbl_row(t, w, titles, indent);
	for (r = 0; r < nrows; r++)
		tbl_row(t, w, &t->cell[r * t->ncols], indent);
}

static void
tbl_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->cell[i]);
	free(t->cell);
}

/* ---- reply values as text ("-" when missing) ---- */

static char *
join_array(const json_t *a, const char *sep);

static char *
json_text(const json_t *v)
{
	char *s;

	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT,
				 json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.1f", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "yes" : "no");
	if (json_is_array(v))
		return join_array(v, ",");
	if (json_is_object(v) && (s = json_dumps(v, JSON_COMPACT)) != NULL)
		return s;
	return xstrdup("-");
}

static char *
join_array(const json_t *a, const char *sep)
{
	size_t i, len = 0;
	char *s = NULL, *e;
	FILE *m;

	if (json_array_size(a) == 0)
		return xstrdup("-");
	m = open_memstream(&s, &len);
	if (m == NULL)
		oom();
	for (i = 0; i < json_array_size(a); i++) {
		e = json_text(json_array_get(a, i));
		fprintf(m, "%s%s", i > 0 ? sep : "", e);
		free(e);
	}
	if (fclose(m) != 0)
		oom();
	return s;
}

/* Index past the run of consecutive integers starting at a[i]. */
static size_t
run_end(const json_t *a, size_t i)
{
	json_int_t hi = json_integer_value(json_array_get(a, i));
	const json_t *e;

	for (i++; i < json_array_size(a); i++, hi++) {
		e = json_array_get(a, i);
		if (!json_is_integer(e) || hi == LLONG_MAX ||
		    json_integer_value(e) != hi + 1)
			break;
	}
	return i;
}

/* [10,20,21,22] -> "10,20-22"; "all" stays "all". */
static char *
vlans_text(const json_t *v)
{
	size_t i, j, n = json_array_size(v), len = 0;
	char *s = NULL, *e;
	FILE *m;

	if (!json_is_array(v) || n == 0)
		return json_is_array(v) ? xstrdup("none") : json_text(v);
	m = open_memstream(&s, &len);
	if (m == NULL)
		oom();
	for (i = 0; i < n; i = j) {
		j = i + 1;
		if (json_is_integer(json_array_get(v, i)))
			j = run_end(v, i);
		e = json_text(json_array_get(v, i));
		fprintf(m, "%s%s", i > 0 ? "," : "", e);
		free(e);
		if (j - i > 1)
			fprintf(m, "-%" JSON_INTEGER_FORMAT,
				json_integer_value(json_array_get(v, j - 1)));
	}
	if (fclose(m) != 0)
		oom();
	return s;
}

static bool
num(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

/* A total count of drops: a number, or an object reason -> count. */
static char *
drops_text(const json_t *v)
{
	json_int_t sum = 0;
	const char *key;
	json_t *c;

	if (!json_is_object(v))
		return json_text(v);
	json_object_foreach((json_t *)(uintptr_t)v, key, c)
		sum += json_integer_value(c);
	return xasprintf("%" JSON_INTEGER_FORMAT, sum);
}

static bool
nonzero(const json_t *v)
{
	double d;

	if (num(v, &d))
		return d != 0;
	return v != NULL && !json_is_null(v);
}

/* "access 10", "trunk all", "trunk 10,20-22 native 5". */
static char *
vlan_text(const json_t *p)
{
	const char *mode = json_string_value(json_object_get(p, "vlan_mode"));
	const json_t *native = json_object_get(p, "native");
	char *list, *s;

	if (mode == NULL)
		return xstrdup("-");
	if (strcmp(mode, "access") == 0) {
		list = json_text(json_object_get(p, "tag"));
		s = xasprintf("access %s", list);
	} else if (strcmp(mode, "trunk") == 0) {
		list = vlans_text(json_object_get(p, "trunks"));
		if (nonzero(native))
			s = xasprintf("trunk %s native %" JSON_INTEGER_FORMAT,
				      list, json_integer_value(native));
		else
			s = xasprintf("trunk %s", list);
	} else {
		list = NULL;
		s = xstrdup(mode);
	}
	free(list);
	return s;
}

static char *
state_text(const json_t *p)
{
	const json_t *c = json_object_get(p, "connected");

	if (json_is_boolean(c))
		return xstrdup(json_is_true(c) ? "connected" : "disconnected");
	return json_text(json_object_get(p, "state"));
}

static bool
is_ethdev(const json_t *p)
{
	const char *type = json_string_value(json_object_get(p, "type"));

	return type != NULL && strcmp(type, "ethdev") == 0;
}

/* ---- printing each command's result ---- */

static void
tbl_key(struct table *t, const json_t *obj, const char *key)
{
	tbl_push(t, json_text(json_object_get(obj, key)));
}

/* One row: obj's value for each key, one key per column. */
static void
tbl_keys_n(struct table *t, const json_t *obj, const char *const *keys,
	   size_t nkeys)
{
	size_t i;

	for (i = 0; i < t->ncols && i < nkeys; i++)
		tbl_key(t, obj, keys[i]);
}

/* One row per object of the array arr, as tbl_keys_n makes it. */
static void
tbl_array_n(struct table *t, const json_t *arr, const char *const *keys,
	    size_t nkeys)
{
	size_t i;

	for (i = 0; i < json_array_size(arr); i++)
		tbl_keys_n(t, json_array_get(arr, i), keys, nkeys);
}

/* keys and the table's head must have as many entries. */
#define tbl_array(t, arr, keys) do { \
	_Static_assert(DIM(keys) == DIM(head), "a key per column"); \
	tbl_array_n(t, arr, keys, DIM(keys)); \
} while (0)

static const char *const port_head[] = {
	"NAME", "TYPE", "MODE/DEVARGS", "PATH", ">QUEUES", "VLAN", ">MTU",
	"STATE", ">RX", ">TX", ">DROPS",
};

static void
port_row(struct table *t, const json_t *p)
{
	bool eth = is_ethdev(p);

	tbl_key(t, p, "name");
	tbl_key(t, p, "type");
	tbl_key(t, p, eth ? "devargs" : "mode");
	if (eth)
		tbl_add(t, "-");
	else
		tbl_key(t, p, "path");
	tbl_key(t, p, "queues");
	tbl_push(t, vlan_text(p));
	tbl_key(t, p, "mtu");
	tbl_push(t, state_text(p));
	tbl_key(t, p, "rx_packets");
	tbl_key(t, p, "tx_packets");
	tbl_push(t, drops_text(json_object_get(p, "drops")));
}

static void
print_ports(const json_t *r)
{
	const json_t *ports = json_object_get(r, "ports");
	struct table t = TABLE(port_head);
	size_t i;

	for (i = 0; i < json_array_size(ports); i++)
		port_row(&t, json_array_get(ports, i));
	tbl_print(&t, "");
	tbl_free(&t);
}

/* add-port and set-vlan: the one port, as list-ports shows it. */
static void
print_port_summary(const json_t *r)
{
	struct table t = TABLE(port_head);

	port_row(&t, r);
	tbl_print(&t, "");
	tbl_free(&t);
}

/* show-port's key: value lines; type-specific keys for that type. */
static const struct {
	const char *key;
	const char *type;	/* NULL: every port */
} port_keys[] = {
	{ "name", NULL }, { "index", NULL }, { "type", NULL },
	{ "mode", "vhost-user" }, { "path", "vhost-user" },
	{ "connected", "vhost-user" },
	{ "devargs", "ethdev" }, { "ethdev_port", "ethdev" },
	{ "queues", NULL }, { "mtu", NULL }, { "vlan", NULL },
	{ "zero_copy", NULL }, { "rx_packets", NULL }, { "tx_packets", NULL },
	{ "drops", NULL }, { "features", "vhost-user" },
	{ "protocol_features", "vhost-user" },
	{ "features_names", "vhost-user" },
};

static bool
port_key_shown(const json_t *p, unsigned int k)
{
	const char *type = json_string_value(json_object_get(p, "type"));
	const char *want = port_keys[k].type;

	if (want == NULL || (type != NULL && strcmp(type, want) == 0))
		return true;
	if (type != NULL && (!strcmp(type, "vhost-user") ||
			     !strcmp(type, "ethdev")))
		return false;
	return json_object_get(p, port_keys[k].key) != NULL;
}

static void
print_port_keys(const json_t *p)
{
	struct table t = KV_TABLE();
	const char *key;
	unsigned int k;

	for (k = 0; k < DIM(port_keys); k++) {
		if (!port_key_shown(p, k))
			continue;
		key = port_keys[k].key;
		tbl_push(&t, xasprintf("%s:", key));
		if (strcmp(key, "vlan") == 0)
			tbl_push(&t, vlan_text(p));
		else if (strcmp(key, "drops") == 0)
			tbl_push(&t, drops_text(json_object_get(p, key)));
		else if (strcmp(key, "features_names") == 0)
			tbl_push(&t, join_array(json_object_get(p, key), " "));
		else
			tbl_key(&t, p, key);
	}
	tbl_print(&t, "");
	tbl_free(&t);
}

static void
print_rings(const json_t *rings)
{
	static const char *const head[] = {
		">RING", "STATE", ">SIZE", "LAYOUT", "BROKEN", ">PACKETS",
		">BYTES", ">DIRECT", ">DROPS",
	};
	struct table t = TABLE(head);
	const json_t *r, *packed;
	size_t i;

	for (i = 0; i < json_array_size(rings); i++) {
		r = json_array_get(rings, i);
		packed = json_object_get(r, "packed");
		tbl_key(&t, r, "index");
		tbl_key(&t, r, "state");
		tbl_key(&t, r, "size");
		tbl_add(&t, !json_is_boolean(packed) ? "-" :
			json_is_true(packed) ? "packed" : "split");
		tbl_key(&t, r, "broken");
		tbl_key(&t, r, "packets");
		tbl_key(&t, r, "bytes");
		tbl_key(&t, r, "direct");
		tbl_push(&t, drops_text(json_object_get(r, "drops")));
	}
	printf("\nrings:%s\n", t.n == 0 ? " none" : "");
	if (t.n > 0)
		tbl_print(&t, "  ");
	tbl_free(&t);
}

static void
print_rxqs(const json_t *rxqs)
{
	static const char *const head[] = {
		">QUEUE", ">WORKER", ">PACKETS", ">BYTES", ">CYCLES",
	};
	static const char *const keys[] = {
		"queue", "worker", "packets", "bytes", "cycles",
	};
	struct table t = TABLE(head);

	tbl_array(&t, rxqs, keys);
	printf("\nrx queues:%s\n", t.n == 0 ? " none" : "");
	if (t.n > 0)
		tbl_print(&t, "  ");
	tbl_free(&t);
}

/* The non-zero reasons of a drops object: "none" or "-" if missing. */
static void
print_drop_reasons(const json_t *drops)
{
	struct table t = KV_TABLE();
	const char *reason;
	json_t *c;

	json_object_foreach((json_t *)(uintptr_t)drops, reason, c) {
		if (!nonzero(c))
			continue;
		tbl_push(&t, xasprintf("%s:", reason));
		tbl_push(&t, json_text(c));
	}
	if (t.n == 0)
		printf("\ndrops by reason: %s\n", drops != NULL ? "none" : "-");
	else
		printf("\ndrops by reason:\n");
	tbl_print(&t, "  ");
	tbl_free(&t);
}

static void
print_show_port(const json_t *p)
{
	const json_t *drops = json_object_get(json_object_get(p, "stats"),
					      "drops");

	if (!json_is_object(drops))
		drops = json_object_get(p, "drops");
	print_port_keys(p);
	if (json_object_get(p, "rings") != NULL || !is_ethdev(p))
		print_rings(json_object_get(p, "rings"));
	print_rxqs(json_object_get(p, "rxqs"));
	print_drop_reasons(json_is_object(drops) ? drops : NULL);
}

static void
stats_drop_rows(struct table *t, const json_t *s)
{
	const json_t *drops = json_object_get(s, "drops");
	const char *reason;
	json_t *c;

	json_object_foreach((json_t *)(uintptr_t)drops, reason, c) {
		if (!nonzero(c))
			continue;
		tbl_key(t, s, "name");
		tbl_add(t, reason);
		tbl_push(t, json_text(c));
	}
}

static void
print_stats(const json_t *r)
{
	static const char *const head[] = {
		"NAME", ">RX-PKTS", ">RX-BYTES", ">TX-PKTS", ">TX-BYTES",
		">DROPS",
	};
	static const char *const drop_head[] = { "PORT", "REASON", ">PACKETS" };
	const json_t *ports = json_object_get(r, "ports"), *s;
	struct table t = TABLE(head), d = TABLE(drop_head);
	size_t i;

	for (i = 0; i < json_array_size(ports); i++) {
		s = json_array_get(ports, i);
		tbl_key(&t, s, "name");
		tbl_key(&t, s, "rx_packets");
		tbl_key(&t, s, "rx_bytes");
		tbl_key(&t, s, "tx_packets");
		tbl_key(&t, s, "tx_bytes");
		tbl_push(&t, drops_text(json_object_get(s, "drops")));
		stats_drop_rows(&d, s);
	}
	tbl_print(&t, "");
	printf("\ndrops by reason:%s\n", d.n == 0 ? " none" : "");
	if (d.n > 0)
		tbl_print(&d, "  ");
	tbl_free(&t);
	tbl_free(&d);
}

static void
print_macs(const json_t *r)
{
	static const char *const head[] = {
		"MAC", ">VLAN", "PORT", "TYPE", ">AGE",
	};
	static const char *const keys[] = {
		"mac", "vlan", "port", "type", "age",
	};
	const json_t *macs = json_object_get(r, "macs");
	struct table t = TABLE(head);
	size_t n = json_array_size(macs);
	char *aging;

	tbl_array(&t, macs, keys);
	tbl_print(&t, "");
	aging = json_text(json_object_get(r, "aging"));
	printf("%zu %s, aging %s s\n", n, n == 1 ? "entry" : "entries", aging);
	free(aging);
	tbl_free(&t);
}

static void
print_mbufs(const json_t *r)
{
	static const char *const head[] = {
		"POOL", ">SIZE", ">CACHE", ">AVAILABLE", ">IN-USE",
	};
	static const char *const keys[] = {
		"name", "size", "cache_size", "available", "in_use",
	};
	struct table t = TABLE(head);

	tbl_array(&t, json_object_get(r, "pools"), keys);
	tbl_print(&t, "");
	tbl_free(&t);
}

/* busy_pct as sent, else from busy and idle cycles. */
static char *
busy_text(const json_t *w)
{
	double pct, busy, idle;

	if (num(json_object_get(w, "busy_pct"), &pct))
		return xasprintf("%.1f %%", pct);
	if (num(json_object_get(w, "busy_cycles"), &busy) &&
	    num(json_object_get(w, "idle_cycles"), &idle) && busy + idle > 0)
		return xasprintf("%.1f %%", 100 * busy / (busy + idle));
	return xstrdup("-");
}

static void
print_polls(const json_t *polls)
{
	static const char *const head[] = {
		"PORT", ">QUEUE", ">PACKETS", ">CYCLES", ">SHARE",
	};
	struct table t = TABLE(head);
	double total = 0, c;
	const json_t *p;
	size_t i;

	for (i = 0; i < json_array_size(polls); i++)
		if (num(json_object_get(json_array_get(polls, i), "cycles"),
			&c))
			total += c;
	for (i = 0; i < json_array_size(polls); i++) {
		p = json_array_get(polls, i);
		tbl_key(&t, p, "port");
		tbl_key(&t, p, "queue");
		tbl_key(&t, p, "packets");
		tbl_key(&t, p, "cycles");
		if (num(json_object_get(p, "cycles"), &c) && total > 0)
			tbl_push(&t, xasprintf("%.1f %%", 100 * c / total));
		else
			tbl_add(&t, "-");
	}
	if (t.n == 0)
		printf("  polls: none\n");
	else
		tbl_print(&t, "  ");
	tbl_free(&t);
}

/* In the manner of Open vSwitch's pmd-perf-show. */
static void
print_worker(const json_t *w)
{
	struct table t = KV_TABLE();
	char *id = json_text(json_object_get(w, "id"));
	char *lcore = json_text(json_object_get(w, "lcore"));

	printf("worker %s (lcore %s):\n", id, lcore);
	tbl_add(&t, "busy:");
	tbl_push(&t, busy_text(w));
	tbl_add(&t, "packets:");
	tbl_key(&t, w, "packets");
	tbl_add(&t, "cycles/packet:");
	tbl_key(&t, w, "cycles_per_packet");
	tbl_add(&t, "iterations:");
	tbl_key(&t, w, "iterations");
	tbl_print(&t, "  ");
	print_polls(json_object_get(w, "polls"));
	tbl_free(&t);
	free(id);
	free(lcore);
}

static void
print_workers(const json_t *r)
{
	const json_t *workers = json_object_get(r, "workers");
	size_t i;

	if (json_array_size(workers) == 0)
		printf("no workers\n");
	for (i = 0; i < json_array_size(workers); i++) {
		if (i > 0)
			putchar('\n');
		print_worker(json_array_get(workers, i));
	}
}

static void
print_rebalance(const json_t *r)
{
	const json_t *moved = json_object_get(r, "moved");
	char *n = json_text(moved);

	printf("moved %s %s\n\n", n,
	       json_integer_value(moved) == 1 ? "queue" : "queues");
	free(n);
	print_workers(r);
}

static void
print_version(const json_t *r)
{
	char *v = json_text(json_object_get(r, "version"));
	char *w = json_text(json_object_get(r, "workers"));

	printf("vuswitchd %s, %s workers\n", v, w);
	free(v);
	free(w);
}

static void
print_capture_start(const json_t *r)
{
	char *port = json_text(json_object_get(r, "port"));
	char *dir = json_text(json_object_get(r, "direction"));
	char *file = json_text(json_object_get(r, "file"));

	printf("capturing %s (%s) to %s\n", port, dir, file);
	free(port);
	free(dir);
	free(file);
}

static void
print_capture_stop(const json_t *r)
{
	char *port = json_text(json_object_get(r, "port"));
	char *file = json_text(json_object_get(r, "file"));
	char *pkts = json_text(json_object_get(r, "packets"));
	char *dropped = json_text(json_object_get(r, "dropped"));

	printf("stopped capturing %s: %s packets to %s, %s dropped\n",
	       port, pkts, file, dropped);
	free(port);
	free(file);
	free(pkts);
	free(dropped);
}

/* ---- the commands ---- */

static const struct opt_def no_opts[] = { { NULL, false } };
static const struct opt_def add_port_opts[] = {
	{ "client", false }, { "queues", true }, { "mtu", true },
	{ "access", true }, { "trunk", true }, { "native", true },
	{ "no-zero-copy", false }, { NULL, false },
};
static const struct opt_def vlan_opts[] = { { "vlan", true }, { NULL, false } };
static const struct opt_def show_macs_opts[] = {
	{ "port", true }, { "vlan", true }, { NULL, false },
};
static const struct opt_def native_opts[] = {
	{ "native", true }, { NULL, false },
};
static const struct opt_def capture_opts[] = {
	{ "direction", true }, { "snaplen", true }, { NULL, false },
};

static const struct cmd cmds[] = {
	{ "version", "version", "version", 0, 0, no_opts, NULL,
	  print_version },
	{ "list-ports", "list-ports", "list-ports", 0, 0, no_opts, NULL,
	  print_ports },
	{ "show-port", "show-port", "show-port PORT", 1, 1, no_opts,
	  build_port, print_show_port },
	{ "add-port", "add-port",
	  "add-port NAME vhost-user PATH [--client] [--queues=N] "
	  "[PORT-OPTIONS]\n"
	  "add-port NAME ethdev DEVARGS [--queues=N] [PORT-OPTIONS]",
	  3, 3, add_port_opts, build_add_port, print_port_summary },
	{ "del-port", "del-port", "del-port PORT", 1, 1, no_opts,
	  build_port, NULL },
	{ "show-stats", "show-stats", "show-stats [PORT]", 0, 1, no_opts,
	  build_show_stats, print_stats },
	{ "show-macs", "show-macs", "show-macs [--port=PORT] [--vlan=N]", 0, 0,
	  show_macs_opts, build_show_macs, print_macs },
	{ "add-mac", "add-mac", "add-mac MAC PORT [--vlan=N]", 2, 2,
	  vlan_opts, build_add_mac, NULL },
	{ "del-mac", "del-mac", "del-mac MAC [--vlan=N]", 1, 1, vlan_opts,
	  build_del_mac, NULL },
	{ "show-workers", "show-workers", "show-workers", 0, 0, no_opts, NULL,
	  print_workers },
	{ "show-mbufs", "show-mbufs", "show-mbufs", 0, 0, no_opts, NULL,
	  print_mbufs },
	{ "rebalance", "rebalance", "rebalance", 0, 0, no_opts, NULL,
	  print_rebalance },
	{ "set-vlan", "set-vlan",
	  "set-vlan PORT access TAG\n"
	  "set-vlan PORT trunk [LIST|all] [--native=N]",
	  2, 3, native_opts, build_set_vlan, print_port_summary },
	{ "capture start", "capture-start",
	  "capture start PORT FILE [--direction=rx|tx|both] [--snaplen=N]",
	  2, 2, capture_opts, build_capture_start, print_capture_start },
	{ "capture stop", "capture-stop", "capture stop PORT", 1, 1, no_opts,
	  build_port, print_capture_stop },
};

/* Each line of c->usage after prefix, then "       vuswitchctl ". */
static void
cmd_usage(FILE *f, const struct cmd *c, const char *prefix)
{
	const char *p = c->usage;
	size_t len;

	while (*p != '\0') {
		len = strcspn(p, "\n");
		fprintf(f, "%svuswitchctl %.*s\n", prefix, (int)len, p);
		p += len + (p[len] == '\n');
		if (strncmp(prefix, "usage: ", 7) == 0)
			prefix = "       ";
	}
}

static void
full_usage(FILE *f)
{
	size_t i;

	fputs("usage: vuswitchctl [--socket=PATH] [--json] COMMAND [ARGS]\n\n"
	      "Commands:\n", f);
	for (i = 0; i < DIM(cmds); i++)
		cmd_usage(f, &cmds[i], "  ");
	fprintf(f, "\n"
		"PORT-OPTIONS: --mtu=N --access=TAG --trunk=LIST|all "
		"--native=N --no-zero-copy\n"
		"LIST: VLAN ids (0..%d) and ranges, like 10,20,100-199\n"
		"--socket: the control socket "
		"(default $VUSWITCH_CTL, else %s)\n"
		"--json: print the daemon's result as JSON, not as tables\n"
		"Exit status: 0 done, 1 the daemon refused, 2 bad arguments, "
		"3 no daemon\n", VLAN_MAX, DEFAULT_SOCKET);
}

/* Usage of the commands whose first word is word's; else all of them. */
static int
usage_error(const char *word)
{
	size_t i, len = word != NULL ? strcspn(word, " ") : 0;
	const char *prefix = "usage: ";
	bool any = false;

	for (i = 0; word != NULL && i < DIM(cmds); i++) {
		if (strncmp(cmds[i].name, word, len) != 0 ||
		    (cmds[i].name[len] != ' ' && cmds[i].name[len] != '\0'))
			continue;
		cmd_usage(stderr, &cmds[i], prefix);
		prefix = "       ";
		any = true;
	}
	if (any)
		fputs("(vuswitchctl --help lists every command)\n", stderr);
	else
		full_usage(stderr);
	return EXIT_USAGE;
}

/* ---- the command line ---- */

static int
match_opt(const struct opt_def *defs, const char *name, size_t len)
{
	int k;

	for (k = 0; defs[k].name != NULL; k++)
		if (strlen(defs[k].name) == len &&
		    strncmp(defs[k].name, name, len) == 0)
			return k;
	return -1;
}

static int
opt_value(const struct opt_def *d, const char *eq, int argc, char **argv,
	  int *i, const char **out)
{
	if (!d->has_value) {
		if (eq != NULL)
			return argerr("option --%s takes no value", d->name);
		*out = "";
	} else if (eq != NULL) {
		*out = eq + 1;
	} else if (*i + 1 < argc) {
		*out = argv[++*i];
	} else {
		return argerr("option --%s needs a value", d->name);
	}
	return 0;
}

/* argv[*i] is "--name[=value]" (or "--name value"): a global option or
 * one of defs; the value goes to vals[] at the option's index. */
static int
take_option(const struct opt_def *defs, const char **vals, int argc,
	    char **argv, int *i)
{
	const char *name = argv[*i] + 2;
	const char *eq = strchr(name, '=');
	size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	int k;

	k = match_opt(global_opts, name, len);
	if (k >= 0)
		return opt_value(&global_opts[k], eq, argc, argv, i,
				 &global_val[k]);
	k = match_opt(defs, name, len);
	if (k < 0)
		return argerr("unknown option --%.*s", (int)len, name);
	return opt_value(&defs[k], eq, argc, argv, i, &vals[k]);
}

/* Options and positional words after the command name; "--" ends
 * options. */
static int
parse_words(struct cmdline *cl, int argc, char **argv)
{
	bool opts_done = false;
	int i;

	for (i = 0; i < argc; i++) {
		if (!opts_done && strcmp(argv[i], "--") == 0) {
			opts_done = true;
		} else if (!opts_done && strncmp(argv[i], "--", 2) == 0) {
			if (take_option(cl->opts, cl->val, argc, argv, &i) < 0)
				return -1;
		} else if (cl->npos == MAX_POS) {
			return argerr("too many arguments");
		} else {
			cl->pos[cl->npos++] = argv[i];
		}
	}
	return 0;
}

/* Global options before the command; *i ends on the command name. */
static int
parse_globals(int argc, char **argv, int *i)
{
	for (*i = 1; *i < argc && argv[*i][0] == '-'; (*i)++) {
		if (strcmp(argv[*i], "-h") == 0) {
			global_val[G_HELP] = "";
		} else if (strcmp(argv[*i], "--") == 0) {
			(*i)++;
			break;
		} else if (strncmp(argv[*i], "--", 2) != 0) {
			return argerr("unknown option %s", argv[*i]);
		} else if (take_option(no_opts, NULL, argc, argv, i) < 0) {
			return -1;
		}
	}
	return 0;
}

static const struct cmd *
find_cmd(int argc, char **argv, int *i)
{
	const char *word = argv[(*i)++];
	const struct cmd *c = NULL;
	char *name;
	size_t k;

	if (strcmp(word, "capture") != 0) {
		name = xstrdup(word);
	} else if (*i < argc) {
		name = xasprintf("capture %s", argv[(*i)++]);
	} else {
		argerr("capture: start or stop?");
		return NULL;
	}
	for (k = 0; k < DIM(cmds) && c == NULL; k++)
		if (strcmp(cmds[k].name, name) == 0)
			c = &cmds[k];
	if (c == NULL)
		argerr("unknown command '%s'", name);
	free(name);
	return c;
}

static int
check_words(const struct cmd *c, const struct cmdline *cl)
{
	unsigned int k;

	if (cl->npos < c->min_pos)
		return argerr("missing arguments");
	if (cl->npos > c->max_pos)
		return argerr("too many arguments");
	for (k = 0; k < cl->npos; k++)
		if (cl->pos[k][0] == '\0')
			return argerr("argument %u is empty", k + 1);
	return 0;
}

static json_t *
build_request(const struct cmd *c, const struct cmdline *cl)
{
	json_t *args = json_object();
	json_t *req;

	if (args == NULL)
		oom();
	if (c->build != NULL && c->build(cl, args) < 0) {
		json_decref(args);
		return NULL;
	}
	req = json_pack("{s:s, s:o}", "command", c->request, "args", args);
	if (req == NULL)
		oom();
	return req;
}

/* ---- talking to the daemon ---- */

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = TIMEOUT_MS / 1000 };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Bounds a blocking connect (full backlog) and the send. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno == EAGAIN ? ETIMEDOUT : errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (deadline->tv_sec - now.tv_sec) * 1000LL +
	     (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

struct buf {
	char *p;
	size_t len;
	size_t cap;
};

/* Read once into b; 0 at end of file, -errno on error. */
static ssize_t
read_some(int fd, struct buf *b)
{
	ssize_t n;

	if (b->cap - b->len < 4096) {
		size_t cap = b->cap != 0 ? b->cap * 2 : 8192;
		char *p = realloc(b->p, cap);

		if (p == NULL)
			oom();
		b->p = p;
		b->cap = cap;
	}
	do {
		n = read(fd, b->p + b->len, b->cap - b->len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* One reply line (without its '\n') into b, by the deadline. */
static int
recv_line(int fd, struct buf *b, const struct timespec *deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const char *nl;
	ssize_t n;
	int ready;

	for (;;) {
		ready = poll(&pfd, 1, ms_left(deadline));
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready < 0)
			return -errno;
		if (ready == 0)
			return -ETIMEDOUT;
		n = read_some(fd, b);
		if (n <= 0)
			return n < 0 ? (int)n : b->len > 0 ? 0 : -ENODATA;
		nl = memchr(b->p + b->len, '\n', (size_t)n);
		b->len += (size_t)n;
		if (nl != NULL) {
			b->len = (size_t)(nl - b->p);
			return 0;
		}
		if (b->len > MAX_REPLY)
			return -EMSGSIZE;
	}
}

static const char *
comm_error(int err)
{
	if (err == ETIMEDOUT)
		return "no reply within 10 s";
	if (err == ENODATA)
		return "the daemon closed the connection without a reply";
	return strerror(err);
}

/* Send req, return the parsed reply or NULL (message printed). */
static json_t *
transact(int fd, const json_t *req)
{
	struct timespec deadline;
	struct buf b = { NULL, 0, 0 };
	json_error_t jerr;
	json_t *reply = NULL;
	char *line;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += TIMEOUT_MS / 1000;
	line = json_dumps(req, JSON_COMPACT);
	if (line == NULL)
		oom();
	err = send_all(fd, line, strlen(line));
	if (err == 0)
		err = send_all(fd, "\n", 1);
	if (err == 0)
		err = recv_line(fd, &b, &deadline);
	if (err < 0)
		fprintf(stderr, "vuswitchctl: %s: %s\n", socket_path,
			comm_error(-err));
	else if ((reply = json_loadb(b.p, b.len, 0, &jerr)) == NULL)
		fprintf(stderr, "vuswitchctl: %s: bad reply: %s\n",
			socket_path, jerr.text);
	free(line);
	free(b.p);
	return reply;
}

static void
print_json(const json_t *result)
{
	char *s = json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			     JSON_ENCODE_ANY);

	if (s == NULL)
		oom();
	puts(s);
	free(s);
}

static int
handle_reply(const struct cmd *c, const json_t *reply, bool as_json)
{
	const json_t *ok = json_object_get(reply, "ok");
	const json_t *result = json_object_get(reply, "result");
	const char *error;

	if (!json_is_boolean(ok)) {
		fprintf(stderr, "vuswitchctl: %s: bad reply: no \"ok\"\n",
			socket_path);
		return EXIT_NO_DAEMON;
	}
	if (json_is_false(ok)) {
		error = json_string_value(json_object_get(reply, "error"));
		fprintf(stderr, "vuswitchctl: %s\n",
			error != NULL ? error : "refused (no reason given)");
		return EXIT_REFUSED;
	}
	if (as_json) {
		json_t *empty = json_object();

		print_json(result != NULL ? result : empty);
		json_decref(empty);
	} else if (c->print != NULL) {
		c->print(result);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vuswitchctl: writing output: %s\n",
			strerror(errno));
		return EXIT_REFUSED;
	}
	return EXIT_DONE;
}

static int
run(const struct cmd *c, const json_t *req)
{
	json_t *reply;
	int fd, ret;

	fd = ctl_connect(socket_path);
	if (fd < 0) {
		fprintf(stderr, "vuswitchctl: cannot connect to %s: %s "
			"(is vuswitchd running?)\n", socket_path,
			strerror(errno));
		return EXIT_NO_DAEMON;
	}
	reply = transact(fd, req);
	close(fd);
	if (reply == NULL)
		return EXIT_NO_DAEMON;
	ret = handle_reply(c, reply, global_val[G_JSON] != NULL);
	json_decref(reply);
	return ret;
}

static const char *
choose_socket(void)
{
	const char *env = getenv("VUSWITCH_CTL");

	if (global_val[G_SOCKET] != NULL)
		return global_val[G_SOCKET];
	return env != NULL && *env != '\0' ? env : DEFAULT_SOCKET;
}

int
main(int argc, char **argv)
{
	struct cmdline cl = { .opts = no_opts };
	const struct cmd *c;
	const char *word;
	json_t *req;
	int i, ret;

	if (parse_globals(argc, argv, &i) < 0)
		return usage_error(NULL);
	if (global_val[G_HELP] != NULL) {
		full_usage(stdout);
		return EXIT_DONE;
	}
	if (i == argc) {
		argerr("no command given");
		return usage_error(NULL);
	}
	word = argv[i];
	c = find_cmd(argc, argv, &i);
	if (c == NULL)
		return usage_error(word);
	cur_cmd = c->name;
	cl.opts = c->opts;
	if (parse_words(&cl, argc - i, argv + i) < 0)
		return usage_error(c->name);
	if (global_val[G_HELP] != NULL) {
		full_usage(stdout);
		return EXIT_DONE;
	}
	if (global_val[G_SOCKET] != NULL && *global_val[G_SOCKET] == '\0') {
		argerr("--socket needs a path");
		return usage_error(c->name);
	}
	if (check_words(c, &cl) < 0 || (req = build_request(c, &cl)) == NULL)
		return usage_error(c->name);
	socket_path = choose_socket();
	ret = run(c, req);
	json_decref(req);
	return ret;
}
