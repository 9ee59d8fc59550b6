/* SPDX-License-Identifier: BSD-3-Clause */
/* The library's log hook: one line per event, to stderr unless replaced. */
#include <stdarg.h>
#include <stdio.h>

#include "vhu_internal.h"

static vhu_log_fn log_fn;
static enum vhu_log_level log_level = VHU_LOG_INFO;

void
vhu_set_log_fn(vhu_log_fn fn)
{
	log_fn = fn;
}

void
vhu_set_log_level(enum vhu_log_level level)
{
	log_level = level;
}

void
vhu_log(enum vhu_log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "ERR", "WARN", "INFO", "DEBUG" };
	char line[512];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_fn != NULL)
		log_fn(level, line);
	else
		fprintf(stderr, "%s: %s\n", names[level], line);
}
