/* SPDX-License-Identifier: BSD-3-Clause */
/* The lib/switch tests' scratch directory (swt_tmpdir.h). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "swt_tmpdir.h"

int
swt_tmpdir_make(char *dir, size_t size, const char *name)
{
	const char *t = getenv("TMPDIR");

	if ((size_t)snprintf(dir, size, "%s/%s.XXXXXX",
			     t != NULL && *t != '\0' ? t : "/tmp", name) >= size)
		return -1;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

void
swt_tmpdir_remove(const char *dir, bool keep)
{
	struct dirent *e;
	DIR *d;

	if (keep || (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}
