/*
 * The one lexer of numbers, sizes, hex values and PCI addresses.  Every
 * parser (topology files, event traces, generator specs, kernel logs, QEMU
 * traces) and every command-line option reads them here, so that one
 * grammar holds everywhere.  The grammar is documented once, in
 * docs/topology-format.md ("Numbers and sizes"):
 *
 *   number  := decimal | 0x hex                      1000  0x1f
 *   term    := number [unit]                         64K  0x10M  2GiB  4MB
 *   unit    := K | M | G | T | P | E  (any case), optionally followed by
 *              "iB" or "B" (any case); always binary: 64K = 64KiB = 64KB
 *   size    := term ('+' term)*                      128G+32M
 *   pci     := [domain ':'] bus ':' device '.' function   (hex)
 *
 * Values beyond 2^64 - 1 are refused, never wrapped.
 */
#ifndef BS_CORE_LEX_H
#define BS_CORE_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What bs_lex_u64 accepts beyond a plain number. */
enum {
    BS_LEX_UNITS = 1, /* a unit after the number (a size term) */
    BS_LEX_SUM = 2,   /* several terms joined by '+' (with BS_LEX_UNITS) */
    BS_LEX_SIZE = BS_LEX_UNITS | BS_LEX_SUM,
};

/* All of s[0..n) as a number (flags 0) or a size (BS_LEX_SIZE).  BS_OK,
 * BS_EPARSE on bad syntax, BS_ELIMIT beyond 2^64 - 1. */
int bs_lex_u64(const char *s, size_t n, unsigned flags, uint64_t *out);

/* Value of one hex digit, -1 if c is not one. */
int bs_lex_xdigit(int c);

/* A PCI address at the start of s[0..n).  BS_LEX_BDF_FIXED asks for the
 * fixed widths the kernel and lspci print (DDDD:BB:DD.F or BB:DD.F, not
 * followed by another hex digit); without it each field is 1.. digits as
 * QEMU's traces print them.  Returns the characters consumed, 0 if there
 * is no address there (or a field is out of range). */
enum { BS_LEX_BDF_FIXED = 1, BS_LEX_BDF_DOMAIN = 2 /* domain required */ };
size_t bs_lex_bdf(const char *s, size_t n, unsigned flags, unsigned *dom,
                  unsigned *bus, unsigned *dev, unsigned *fn);

#endif
