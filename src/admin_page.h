/* The admin web page (src/admin_page.html, .css, .js), compiled into the binary as byte
 * arrays by utils/embed.sh (Makefile.am's rule writes src/admin_page_data.c at build time).
 * Each array is NUL-terminated; the length excludes the NUL. */
#ifndef CONCORDKV_ADMIN_PAGE_H
#define CONCORDKV_ADMIN_PAGE_H

#include <stddef.h>

extern const unsigned char admin_page_html[];
extern const size_t admin_page_html_len;
extern const unsigned char admin_page_css[];
extern const size_t admin_page_css_len;
extern const unsigned char admin_page_js[];
extern const size_t admin_page_js_len;

#endif
