/*
 * The text writer (writer.c): snprintf-like output into a caller's buffer.
 */
#ifndef BS_WRITER_H
#define BS_WRITER_H

#include <stdarg.h>
#include <stddef.h>

struct rw {
    char *buf;
    size_t cap, len; /* len: bytes the whole text needs, without the NUL */
    int err;         /* BS_OK or the first error (BS_ENOMEM) */
};

void rw_init(struct rw *w, char *buf, size_t cap);
void rw_vprintf(struct rw *w, const char *fmt, va_list ap);
void rw_printf(struct rw *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rw_puts(struct rw *w, const char *s);
void rw_xml(struct rw *w, const char *s);   /* XML/HTML text or attribute */
void rw_json(struct rw *w, const char *s);  /* quoted JSON string */
/* *len = what the text needs (without the NUL); returns w->err. */
int rw_finish(struct rw *w, size_t *len);

#endif
