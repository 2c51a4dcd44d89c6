/*
 * gen_conf_man.c: writes msrpgw.conf(5) at build time. It copies the
 * template, replacing @PROJECT_VERSION@ with the version given and the
 * line "@KEYS@" with one roff entry per setting, taken from
 * gw_config_print_reference() -- the table in gateway/daemon/config.c that drives
 * the parser, --check-config and the README reference -- so the man page
 * lists exactly the keys, defaults and ranges the daemon has.
 *
 *   gen_conf_man TEMPLATE OUTPUT VERSION
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/daemon/config.h"

#define CELLS 6 /* | Section | Key | Type | Default | Range | Description | */

/* Writes text with roff's specials escaped and markdown's backticks
 * dropped; at a line start a '.' or '\'' would be read as a request. */
static void roff_text(FILE *out, const char *s, size_t n, int line_start)
{
    if (line_start && n && (s[0] == '.' || s[0] == '\''))
        fputs("\\&", out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`')
            continue;
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

/* Splits a markdown table row "| a | b | ... |" into cells (trimmed,
 * pointing into row, which is modified). Returns the cell count. */
static int split_row(char *row, char **cell, int max)
{
    int n = 0;
    char *p = strchr(row, '|');
    while (p && n < max) {
        char *start = p + 1;
        char *end = strstr(start, " |"); /* an empty cell is "|  |" */
        if (!end)
            break;
        *end = '\0';
        while (*start == ' ')
            start++;
        cell[n++] = start;
        p = end + 1;
    }
    return n;
}

/* One ".TP" entry per reference row, a ".SS [section]" when it changes. */
static int write_keys(FILE *out)
{
    char *ref = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&ref, &len);
    if (!m)
        return -1;
    gw_config_print_reference(m);
    fclose(m);

    char section[64] = "";
    int rows = 0;
    for (char *line = strtok(ref, "\n"); line; line = strtok(NULL, "\n")) {
        char *c[CELLS];
        if (strncmp(line, "| [", 3) != 0 || split_row(line, c, CELLS) != CELLS)
            continue; /* the header and separator rows */
        if (strcmp(section, c[0]) != 0) {
            snprintf(section, sizeof(section), "%s", c[0]);
            fprintf(out, ".SS %s\n", section);
        }
        fputs(".TP\n\\fB", out);
        roff_text(out, c[1], strlen(c[1]), 0);
        fputs("\\fR = \\fI", out);
        roff_text(out, c[2], strlen(c[2]), 0);
        fputs("\\fR (", out);
        const char *def = strcmp(c[3], "(empty)") ? c[3] : "empty";
        roff_text(out, def, strlen(def), 0);
        if (c[4][0]) {
            fputs("; ", out);
            roff_text(out, c[4], strlen(c[4]), 0);
        }
        fputs(")\n", out);
        roff_text(out, c[5], strlen(c[5]), 1);
        fputc('\n', out);
        rows++;
    }
    free(ref);
    return rows > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fputs("usage: gen_conf_man TEMPLATE OUTPUT VERSION\n", stderr);
        return 2;
    }
    FILE *in = fopen(argv[1], "r");
    FILE *out = fopen(argv[2], "w");
    if (!in || !out) {
        perror("gen_conf_man");
        return 1;
    }
    char line[1024];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), in)) {
        char *v = strstr(line, "@PROJECT_VERSION@");
        if (strcmp(line, "@KEYS@\n") == 0)
            rc = write_keys(out);
        else if (v)
            fprintf(out, "%.*s%s%s", (int)(v - line), line, argv[3],
                    v + strlen("@PROJECT_VERSION@"));
        else
            fputs(line, out);
    }
    fclose(in);
    if (fclose(out) != 0 || rc != 0) {
        fprintf(stderr, "gen_conf_man: cannot write %s\n", argv[2]);
        remove(argv[2]);
        return 1;
    }
    return 0;
}
