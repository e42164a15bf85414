/* Built against an installed weft by check-install.sh. */
#include <stdio.h>
#include <weft.h>

int main(void)
{
	const char *argv[] = { "true", NULL };
	weft_proc *p;
	int status = -1;
	int rc = weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv });

	if (rc == 0)
		rc = weft_proc_wait(p, &status, weft_now() + 10 * WEFT_SEC);
	weft_proc_free(p);
	printf("installed weft: spawn+wait of true: %s, status %d\n",
	       weft_strerror(rc), status);
	return rc == 0 && status == 0 ? 0 : 1;
}
