/* tests/fuzz/argv.c: the entry point of a `make fuzz` target (AFL++).
 *
 * The fuzz input, on stdin, is an argument vector: words separated by NUL
 * bytes ("--pid\0--\0true" is three words; a final NUL ends the last word,
 * so "a\0" is one word and "a\0\0" is "a" and ""; an empty input is no
 * word). They become argv[1...] of the helper's own main, compiled from
 * utils/HELPER.c with -Dmain=fuzz_helper_main and -DFUZZ_PARSE_ONLY, which
 * makes it return once its arguments are parsed and checked, before the
 * first action. A helper that rejects the arguments exits 125 as it always
 * does; afl-fuzz's fork server takes that as a normal end. Only a signal
 * (an ASan or UBSan report aborts) is a finding.
 *
 * Every word is a separate allocation, and so is the vector, so that ASan
 * sees a read past the end of either. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fuzz_helper_main(int argc, char **argv);

#define MAX_INPUT (256 * 1024)
#define MAX_WORDS 8192

int main(int argc, char **argv)
{
	static char buf[MAX_INPUT];
	size_t len = 0, i;
	ssize_t n;
	char **av;
	int ac = 0;

	(void)argc;
	while (len < sizeof(buf) && (n = read(0, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	/* at most one word per byte, plus argv[0] and the terminating NULL */
	av = calloc((len < MAX_WORDS ? len : MAX_WORDS) + 2, sizeof(*av));
	if (!av)
		return 125;
	av[ac++] = argv[0];
	for (i = 0; i < len && ac <= MAX_WORDS;) {
		const char *nul = memchr(buf + i, '\0', len - i);
		size_t wlen = nul ? (size_t)(nul - (buf + i)) : len - i;
		char *w = malloc(wlen + 1);

		if (!w)
			return 125;
		memcpy(w, buf + i, wlen);
		w[wlen] = '\0';
		av[ac++] = w;
		i += wlen + 1;
	}
	av[ac] = NULL;
	return fuzz_helper_main(ac, av);
}
