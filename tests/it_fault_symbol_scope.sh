# Fault: the preload's libraries must not enter the program's symbol scope. libpferris.so has
# no NEEDED jansson or libunwind (jansson is linked in privately with hidden symbols, libunwind
# dlopen'ed RTLD_LOCAL), exports only the public API and the interposed names, and a program
# whose own library defines json_object_get, json_dumps... with other signatures runs the same
# under the preload and gets a valid report.
. "$TOP/tests/lib.sh"
command -v readelf >/dev/null && command -v nm >/dev/null || skip "readelf and nm (binutils) needed"
needed=$(readelf -d "$PFERRIS_SO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case "$needed" in *jansson*|*unwind*) die "libpferris.so has NEEDED: $needed";; esac
# Version definitions (type A) are not symbols; a versioned name counts by its name.
exported=$(nm -D --defined-only "$PFERRIS_SO" | awk '$2 != "A" {sub(/@.*/, "", $3); print $3}')
interposed=" malloc free calloc realloc reallocarray posix_memalign aligned_alloc memalign valloc
  pvalloc malloc_usable_size pthread_create _exit _Exit execve execv execvp execvpe execl execle
  sigaltstack
  execlp fexecve execveat __libc_start_main sigaction signal setitimer pthread_mutex_lock
  pthread_mutex_timedlock pthread_mutex_clocklock pthread_rwlock_rdlock pthread_rwlock_wrlock
  pthread_rwlock_timedrdlock pthread_rwlock_timedwrlock pthread_rwlock_clockrdlock
  pthread_rwlock_clockwrlock pthread_cond_wait pthread_cond_timedwait pthread_cond_clockwait
  pthread_barrier_wait sem_wait sem_timedwait sem_clockwait "
for s in $exported; do
  case "$s" in pferris_*) continue;; esac
  case "$interposed" in *" $s "*|*" $s"$'\n'*) continue;; esac
  echo "$interposed" | tr ' ' '\n' | grep -qx -- "$s" || die "libpferris.so exports '$s'"
done
nm -D --undefined-only "$PFERRIS_SO" | grep -Eq ' (json_|jansson_|unw_|_U[A-Z])' \
  && die "libpferris.so needs jansson or libunwind symbols from the program's scope"

cc -O1 -shared -fPIC -DFAKE_LIB -o "$TMP/libfakejson.so" "$TOP/tests/faults/symbol_scope.c" \
  || die "cannot build the fake JSON library"
cc -O1 -o "$TMP/symbol_scope" "$TOP/tests/faults/symbol_scope.c" -L"$TMP" -lfakejson \
  -Wl,-rpath,"$TMP" || die "cannot build the repro"
mkdir out && cd out || die "mkdir"
plain=$("$TMP/symbol_scope"); a=$?
for sample in 524288 1; do
  rm -f pferris.*.json
  live=$(PFERRIS_SAMPLE=$sample preload timeout 20 "$TMP/symbol_scope"); b=$?
  expect_eq "$b" "$a" "exit status (PFERRIS_SAMPLE=$sample)"
  expect_eq "$live" "$plain" "output (PFERRIS_SAMPLE=$sample)"
  r=$(one_report 'pferris.symbol_scope.*.json')
  expect_eq "$(jget "$r" 'd["schema"]')" pferris-report/1 "report schema"
done
"$TOP/$B/pferris" report "$r" >/dev/null || die "pferris report refuses the report"
