/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vuswitchd's command line and configuration file (an INI file read with
 * DPDK's rte_cfgfile): a [switch] section and one [port NAME] section per
 * port. Command-line options win over the file; --socket-path ports
 * replace the file's ports.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cfgfile.h>

#include "vuswitchd.h"

#ifndef VSD_DEFAULT_CONFIG
#define VSD_DEFAULT_CONFIG "config/vuswitch.conf"
#endif

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vuswitchd [--config=FILE] [--socket-path=PATH ...] [--fd=FDNUM]\n"
"                 [--client] [--queues=N] [--control-socket=PATH]\n"
"                 [--lcores=CPULIST] [--file-prefix=NAME] [--no-huge]\n"
"                 [--mac-aging=SECONDS] [--mbufs=N] [--debug]\n"
"                 [-- EAL arguments]\n"
"       vuswitchd --print-capabilities\n"
"With no --socket-path and no --fd, ports come from the configuration\n"
"file (default %s).\n", VSD_DEFAULT_CONFIG);
}

static void
print_capabilities(void)
{
	printf("{\n  \"type\": \"net\",\n  \"features\": []\n}\n");
}

int
vsd_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	*out = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *out > max)
		return -EINVAL;
	return 0;
}

static int
parse_range(const char *tok, struct sw_vlan *v)
{
	unsigned long a, b;
	char buf[32], *dash;

	if (strlen(tok) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, tok);
	dash = strchr(buf, '-');
	if (dash != NULL)
		*dash++ = '\0';
	if (vsd_parse_uint(buf, SW_VLAN_MAX, &a) < 0 ||
	    vsd_parse_uint(dash != NULL ? dash : buf, SW_VLAN_MAX, &b) < 0 ||
	    b < a)
		return -EINVAL;
	for (; a <= b; a++)
		v->allowed[a / 64] |= 1ull << (a % 64);
	return 0;
}

int
vsd_parse_vlan_list(const char *s, struct sw_vlan *v)
{
	char *copy, *tok, *save = NULL;
	int rc = 0;

	v->mode = SW_VLAN_TRUNK;
	memset(v->allowed, 0, sizeof(v->allowed));
	v->listed = strcmp(s, "all") != 0;
	if (!v->listed)
		return 0;
	copy = strdup(s);
	if (copy == NULL)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
	     tok = strtok_r(NULL, ",", &save))
		rc = parse_range(tok, v);
	free(copy);
	return rc;
}

int
vsd_parse_vlan(const char *s, struct sw_vlan *v)
{
	unsigned long tag;
	uint16_t native = v->native;

	memset(v, 0, sizeof(*v));
	v->native = native;
	if (strncmp(s, "access:", 7) == 0) {
		if (vsd_parse_uint(s + 7, SW_VLAN_MAX, &tag) < 0)
			return -EINVAL;
		v->mode = SW_VLAN_ACCESS;
		v->tag = (uint16_t)tag;
		return 0;
	}
	if (strcmp(s, "trunk") == 0)
		return vsd_parse_vlan_list("all", v);
	if (strncmp(s, "trunk:", 6) == 0)
		return vsd_parse_vlan_list(s + 6, v);
	return -EINVAL;
}

/* One [port NAME] entry into a port configuration. */
static int
port_entry(struct sw_port_conf *p, const char *key, const char *val)
{
	unsigned long n;

	if (strcmp(key, "type") == 0) {
		if (strcmp(val, "vhost-user") == 0)
			p->type = SW_PORT_VHOST;
		else if (strcmp(val, "ethdev") == 0)
			p->type = SW_PORT_ETHDEV;
		else
			return -EINVAL;
	} else if (strcmp(key, "path") == 0) {
		p->path = strdup(val);
	} else if (strcmp(key, "devargs") == 0) {
		p->devargs = strdup(val);
	} else if (strcmp(key, "mode") == 0) {
		if (strcmp(val, "server") != 0 && strcmp(val, "client") != 0)
			return -EINVAL;
		p->mode = val[0] == 's' ? VHU_MODE_SERVER : VHU_MODE_CLIENT;
	} else if (strcmp(key, "queues") == 0) {
		if (vsd_parse_uint(val, SW_MAX_QUEUES, &n) < 0 || n == 0)
			return -EINVAL;
		p->queues = (uint16_t)n;
	} else if (strcmp(key, "mtu") == 0) {
		if (vsd_parse_uint(val, 9600, &n) < 0 || n < 68)
			return -EINVAL;
		p->mtu = (uint16_t)n;
	} else if (strcmp(key, "vlan") == 0) {
		return vsd_parse_vlan(val, &p->vlan);
	} else if (strcmp(key, "native") == 0) {
		if (vsd_parse_uint(val, SW_VLAN_MAX, &n) < 0)
			return -EINVAL;
		p->vlan.native = (uint16_t)n;
	} else if (strcmp(key, "zero-copy") == 0) {
		p->no_zero_copy = strcmp(val, "no") == 0;
	} else {
		return -ENOENT;
	}
	return 0;
}

static int
load_port(struct rte_cfgfile *f, const char *sec, struct vsd_conf *c)
{
	struct rte_cfgfile_entry e[16];
	struct sw_port_conf *p;
	int n, i, rc;

	if (c->nports == VSD_MAX_PORTS_CONF)
		return -E2BIG;
	p = &c->ports[c->nports++];
	memset(p, 0, sizeof(*p));
	p->name = strdup(sec + 5);
	n = rte_cfgfile_section_entries(f, sec, e, 16);
	for (i = 0; i < n; i++) {
		rc = port_entry(p, e[i].name, e[i].value);
		if (rc < 0) {
			fprintf(stderr, "vuswitchd: [%s] %s = %s: %s\n", sec,
				e[i].name, e[i].value, rc == -ENOENT ?
				"unknown setting" : "invalid value");
			return rc;
		}
	}
	return 0;
}

static int
switch_entry(struct vsd_conf *c, const char *key, const char *val)
{
	unsigned long n;

	if (strcmp(key, "control-socket") == 0)
		snprintf(c->control_socket, sizeof(c->control_socket), "%s",
			 val);
	else if (strcmp(key, "lcores") == 0)
		snprintf(c->lcores, sizeof(c->lcores), "%s",
			 strcmp(val, "auto") == 0 ? "" : val);
	else if (strcmp(key, "mac-aging") == 0 &&
		 vsd_parse_uint(val, 86400 * 365, &n) == 0 && n > 0)
		c->mac_aging_s = (uint32_t)n;
	else if (strcmp(key, "mbufs") == 0 &&
		 vsd_parse_uint(val, 1u << 24, &n) == 0 && n >= 4096)
		c->mbufs = (uint32_t)n;
	else if (strcmp(key, "hugepages") == 0 && strcmp(val, "no") == 0)
		c->no_huge = true;
	else if (strcmp(key, "hugepages") != 0)
		return -EINVAL;
	return 0;
}

static int
load_file(const char *path, struct vsd_conf *c, bool ports)
{
	struct rte_cfgfile *f = rte_cfgfile_load(path, 0);
	struct rte_cfgfile_entry e[16];
	char *secs[VSD_MAX_PORTS_CONF + 1];
	char names[VSD_MAX_PORTS_CONF + 1][CFG_NAME_LEN];
	int n, i, rc = 0;

	if (f == NULL) {
		fprintf(stderr, "vuswitchd: cannot read %s\n", path);
		return -ENOENT;
	}
	n = rte_cfgfile_section_entries(f, "switch", e, 16);
	for (i = 0; i < n && rc == 0; i++) {
		rc = switch_entry(c, e[i].name, e[i].value);
		if (rc < 0)
			fprintf(stderr, "vuswitchd: [switch] %s = %s: not "
				"understood\n", e[i].name, e[i].value);
	}
	for (i = 0; i <= VSD_MAX_PORTS_CONF; i++)
		secs[i] = names[i];
	n = rte_cfgfile_sections(f, secs, VSD_MAX_PORTS_CONF + 1);
	for (i = 0; i < n && rc == 0 && ports; i++)
		if (strncmp(secs[i], "port ", 5) == 0)
			rc = load_port(f, secs[i], c);
	rte_cfgfile_close(f);
	return rc;
}

static int
add_socket_port(struct vsd_conf *c, const char *path, int fd)
{
	struct sw_port_conf *p;
	char name[SW_NAME_MAX];

	if (c->nports == VSD_MAX_PORTS_CONF)
		return -E2BIG;
	p = &c->ports[c->nports];
	snprintf(name, sizeof(name), "vhu%u", c->nports);
	c->nports++;
	memset(p, 0, sizeof(*p));
	p->name = strdup(name);
	p->type = SW_PORT_VHOST;
	p->mode = fd >= 0 ? VHU_MODE_FD : VHU_MODE_SERVER;
	p->path = path != NULL ? strdup(path) : NULL;
	p->fd = fd;
	return 0;
}

enum { O_CONFIG = 256, O_SOCKET, O_FD, O_CLIENT, O_QUEUES, O_CTL, O_LCORES,
       O_PREFIX, O_NOHUGE, O_AGING, O_MBUFS, O_CAPS, O_HELP, O_DEBUG };

static const struct option longopts[] = {
	{ "config", required_argument, NULL, O_CONFIG },
	{ "socket-path", required_argument, NULL, O_SOCKET },
	{ "fd", required_argument, NULL, O_FD },
	{ "client", no_argument, NULL, O_CLIENT },
	{ "queues", required_argument, NULL, O_QUEUES },
	{ "control-socket", required_argument, NULL, O_CTL },
	{ "lcores", required_argument, NULL, O_LCORES },
	{ "file-prefix", required_argument, NULL, O_PREFIX },
	{ "no-huge", no_argument, NULL, O_NOHUGE },
	{ "mac-aging", required_argument, NULL, O_AGING },
	{ "mbufs", required_argument, NULL, O_MBUFS },
	{ "print-capabilities", no_argument, NULL, O_CAPS },
	{ "help", no_argument, NULL, O_HELP },
	{ "debug", no_argument, NULL, O_DEBUG },
	{ NULL, 0, NULL, 0 },
};

struct cli {
	const char *paths[VSD_MAX_PORTS_CONF];
	unsigned int npaths;
	long fd;
	bool client;
	unsigned long queues, aging, mbufs;
	const char *ctl, *lcores, *prefix;
	bool no_huge;
};

static int
cli_option(int o, struct cli *k, struct vsd_conf *c)
{
	switch (o) {
	case O_CONFIG: c->config = optarg; return 0;
	case O_SOCKET:
		if (k->npaths == VSD_MAX_PORTS_CONF)
			return -E2BIG;
		k->paths[k->npaths++] = optarg;
		return 0;
	case O_FD: {
		unsigned long fd;

		if (vsd_parse_uint(optarg, INT32_MAX, &fd) < 0)
			return -EINVAL;
		k->fd = (long)fd;
		return 0;
	}
	case O_CLIENT: k->client = true; return 0;
	case O_QUEUES:
		return vsd_parse_uint(optarg, SW_MAX_QUEUES, &k->queues) < 0 ||
		       k->queues == 0 ? -EINVAL : 0;
	case O_CTL: k->ctl = optarg; return 0;
	case O_LCORES: k->lcores = optarg; return 0;
	case O_PREFIX: k->prefix = optarg; return 0;
	case O_NOHUGE: k->no_huge = true; return 0;
	case O_AGING:
		return vsd_parse_uint(optarg, 86400 * 365, &k->aging) < 0 ||
		       k->aging == 0 ? -EINVAL : 0;
	case O_MBUFS:
		return vsd_parse_uint(optarg, 1u << 24, &k->mbufs) < 0 ||
		       k->mbufs < 4096 ? -EINVAL : 0;
	case O_CAPS: print_capabilities(); return 1;
	case O_HELP: usage(stdout); return 1;
	case O_DEBUG: c->debug = true; return 0;
	default: return -EINVAL;
	}
}

/* Options given on the command line override the file's. */
static void
cli_apply(const struct cli *k, struct vsd_conf *c)
{
	unsigned int i;

	for (i = 0; i < c->nports; i++) {
		if (k->queues != 0)
			c->ports[i].queues = (uint16_t)k->queues;
		if (k->client && c->ports[i].mode == VHU_MODE_SERVER)
			c->ports[i].mode = VHU_MODE_CLIENT;
	}
	if (k->ctl != NULL)
		snprintf(c->control_socket, sizeof(c->control_socket), "%s",
			 k->ctl);
	if (k->lcores != NULL)
		snprintf(c->lcores, sizeof(c->lcores), "%s", k->lcores);
	if (k->prefix != NULL)
		snprintf(c->file_prefix, sizeof(c->file_prefix), "%s",
			 k->prefix);
	c->no_huge |= k->no_huge;
	if (k->aging != 0)
		c->mac_aging_s = (uint32_t)k->aging;
	if (k->mbufs != 0)
		c->mbufs = (uint32_t)k->mbufs;
}

static int
cli_ports(const struct cli *k, struct vsd_conf *c)
{
	unsigned int i;

	if (k->npaths > 0 && k->fd >= 0) {
		fprintf(stderr, "vuswitchd: --socket-path and --fd exclude "
			"each other\n");
		return -1;
	}
	if (k->fd >= 0)
		return add_socket_port(c, NULL, (int)k->fd);
	for (i = 0; i < k->npaths; i++)
		if (add_socket_port(c, k->paths[i], -1) < 0)
			return -1;
	return 0;
}

/* The strings the ports were given (their names, paths, devargs). */
void
vsd_conf_free(struct vsd_conf *c)
{
	unsigned int i;

	for (i = 0; i < c->nports; i++) {
		free((char *)(uintptr_t)c->ports[i].name);
		free((char *)(uintptr_t)c->ports[i].path);
		free((char *)(uintptr_t)c->ports[i].devargs);
	}
	c->nports = 0;
}

int
vsd_conf_parse(int argc, char **argv, struct vsd_conf *c)
{
	struct cli k = { .fd = -1 };
	bool from_file;
	int o, rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
		 VSD_DEFAULT_CTL);
	snprintf(c->file_prefix, sizeof(c->file_prefix), "vuswitchd");
	while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		rc = cli_option(o, &k, c);
		if (rc != 0) {
			if (rc < 0)
				usage(stderr);
			return rc < 0 ? -1 : 1;
		}
	}
	c->eal_argc = argc - optind;
	c->eal_argv = argv + optind;
	from_file = k.npaths == 0 && k.fd < 0;
	if (from_file && c->config == NULL)
		c->config = VSD_DEFAULT_CONFIG;
	if (c->config != NULL && load_file(c->config, c, from_file) < 0)
		return -1;
	if (cli_ports(&k, c) < 0)
		return -1;
	cli_apply(&k, c);
	return 0;
}
