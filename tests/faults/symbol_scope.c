/* symbol_scope.c — a program with a JSON library of its own whose functions share jansson's
 * names with other signatures (json-c's json_object_get takes one argument; here json_dumps,
 * json_object and json_dump_callback differ too). Built with -DFAKE_LIB it is that library;
 * otherwise the program, which uses it and prints what it returned. pferris's calls must never
 * bind to these, nor the program's to pferris's jansson. */
#include <stdio.h>
#include <string.h>

#ifdef FAKE_LIB
static int calls;
int json_object_get(int x) { calls++; return 2 * x; }
const char *json_dumps(int n) { calls++; return n > 0 ? "fake-dump" : "none"; }
void *json_object(int tag) { calls++; return (void *)(long)(0xdead0000 + tag); }
int json_dump_callback(long a) { calls++; return (int)a + 7; }
int fake_calls(void) { return calls; }
#else
int json_object_get(int x);
const char *json_dumps(int n);
void *json_object(int tag);
int json_dump_callback(long a);
int fake_calls(void);

int main(void)
{
    printf("%d %s %p %d\n", json_object_get(21), json_dumps(1), json_object(1),
           json_dump_callback(1));
    int before = fake_calls();
    char *p = strdup("allocate something");
    puts(p);
    printf("calls %d\n", before);
    return 0;
}
#endif
