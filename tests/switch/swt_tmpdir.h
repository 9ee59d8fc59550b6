/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A scratch directory for the lib/switch tests' files: made under
 * $TMPDIR (or /tmp), emptied and removed when the test ends.
 */
#ifndef SWT_TMPDIR_H
#define SWT_TMPDIR_H

#include <stdbool.h>
#include <stddef.h>

/* Make dir (size bytes) as $TMPDIR/<name>.XXXXXX; 0, or -1. */
int swt_tmpdir_make(char *dir, size_t size, const char *name);
/* Remove its files and itself, unless keep. */
void swt_tmpdir_remove(const char *dir, bool keep);

#endif /* SWT_TMPDIR_H */
