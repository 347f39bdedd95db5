/* output_device.c — a program that allocates a little and prints one line; the test sends
 * its report to /dev/null, /dev/stderr and FIFOs through PFERRIS_OUTPUT. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    for (int i = 0; i < 10; i++)
        free(malloc(64));
    puts("done");
    return 0;
}
