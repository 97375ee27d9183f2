/*
 * The library's one text writer: snprintf-like output into a caller's
 * buffer of `cap` bytes that counts what the whole text needs, so a caller
 * can ask with (NULL, 0), allocate len + 1 and write again.  The text is
 * always NUL-terminated when cap > 0; what does not fit is counted, not
 * written.  Used by the topology writer, the QEMU exporter and the maps.
 */
#include "core/writer.h"
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

void rw_init(struct rw *w, char *buf, size_t cap)
{
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->err = BS_OK;
    if (w->cap)
        w->buf[0] = '\0';
}

void rw_vprintf(struct rw *w, const char *fmt, va_list ap)
{
    char *dst = w->len < w->cap ? w->buf + w->len : NULL;
    size_t room = w->len < w->cap ? w->cap - w->len : 0;
    int n = vsnprintf(dst, room, fmt, ap);
    if (n > 0)
        w->len += (size_t)n;
}

void rw_printf(struct rw *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rw_vprintf(w, fmt, ap);
    va_end(ap);
}

void rw_puts(struct rw *w, const char *s)
{
    size_t n = strlen(s);
    if (w->len < w->cap) {
        size_t room = w->cap - w->len - 1;
        size_t k = n < room ? n : room;
        memcpy(w->buf + w->len, s, k);
        w->buf[w->len + k] = '\0';
    }
    w->len += n;
}

void rw_xml(struct rw *w, const char *s)
{
    char one[2] = {0, 0};
    for (; *s; s++) {
        switch (*s) {
        case '&': rw_puts(w, "&amp;"); break;
        case '<': rw_puts(w, "&lt;"); break;
        case '>': rw_puts(w, "&gt;"); break;
        case '"': rw_puts(w, "&quot;"); break;
        case '\'': rw_puts(w, "&#39;"); break;
        default:
            /* Control characters are not allowed in XML 1.0 text. */
            one[0] = (unsigned char)*s < 0x20 ? '?' : *s;
            rw_puts(w, one);
        }
    }
}

void rw_json(struct rw *w, const char *s)
{
    char one[2] = {0, 0};
    rw_puts(w, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            one[0] = (char)c;
            rw_puts(w, "\\");
            rw_puts(w, one);
        } else if (c < 0x20) {
            rw_printf(w, "\\u%04x", c);
        } else {
            one[0] = (char)c;
            rw_puts(w, one);
        }
    }
    rw_puts(w, "\"");
}

int rw_finish(struct rw *w, size_t *len)
{
    if (len)
        *len = w->len;
    return w->err;
}
