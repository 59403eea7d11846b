/* The anyhv engines: each run is one child process (anyhv-bench-x86_64 or
 * anyhv-bench-arm64) that links its flavour of the API and times the guest itself.
 * The software route's two tiers are two engines: the child runs with ANYHV_JIT=off
 * (interpreter only) or ANYHV_JIT=on (tiered), read by the library at vCPU creation. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

static bool child_path(const struct bench_engine *e, char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return false;
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(out, len, "%s/anyhv-bench-%s", self, e->arch == BENCH_X86_64 ? "x86_64" : "arm64");
    return access(out, X_OK) == 0;
}

#define JIT_VAR "ANYHV_JIT="
#define MAX_ENV 1024

/* The child's environment: ours, with ANYHV_JIT set to the engine's tier if it names
 * one. env must have room for MAX_ENV entries; var holds the new ANYHV_JIT entry. */
static char **child_env(const struct bench_engine *e, char **env, char *var, size_t var_len)
{
    if (!e->jit)
        return environ;
    size_t n = 0;
    for (char **p = environ; *p && n < MAX_ENV - 2; p++)
        if (strncmp(*p, JIT_VAR, strlen(JIT_VAR)) != 0)
            env[n++] = *p;
    snprintf(var, var_len, "%s%s", JIT_VAR, e->jit);
    env[n++] = var;
    env[n] = NULL;
    return env;
}

/* Runs the child and returns its one line of output in line. */
static bool run_child(const struct bench_engine *e, const char *image, char *line, size_t len)
{
    static char *env[MAX_ENV];
    char var[64];
    char path[PATH_MAX + 32];
    int fds[2];
    pid_t pid;
    if (!child_path(e, path, sizeof(path)) || pipe(fds) < 0)
        return snprintf(line, len, "error %.120s missing", path), false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = { path, (char *)e->param, (char *)image, NULL };
    int rc = posix_spawn(&pid, path, &fa, NULL, argv, child_env(e, env, var, sizeof(var)));
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return snprintf(line, len, "error cannot start %.120s: %.60s", path, strerror(rc)), false;
    }
    FILE *f = fdopen(fds[0], "r");
    bool got = f && fgets(line, (int)len, f);
    if (f)
        fclose(f);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!got)
        snprintf(line, len, "error %.120s crashed or printed nothing (status %d)", path, status);
    return got;
}

static bool anyhv_available(const struct bench_engine *e, const char **why)
{
    char path[PATH_MAX + 32];
    if (!child_path(e, path, sizeof(path))) {
        *why = "engine binary not built";
        return false;
    }
    *why = "";
    return true;
}

static void anyhv_run(const struct bench_engine *e, const char *image, unsigned w, struct bench_result *r)
{
    char line[256];
    (void)w;
    run_child(e, image, line, sizeof(line));
    line[strcspn(line, "\n")] = 0;
    if (sscanf(line, "run %lf %" SCNu64 " %" SCNu64 " %" SCNu64, &r->seconds, &r->value, &r->icount, &r->exits) == 4)
        r->ok = true;
    else
        snprintf(r->error, sizeof(r->error), "%.150s", strncmp(line, "error ", 6) ? line : line + 6);
}

const struct bench_engine bench_engine_anyhv_x86_kvm = { "anyhv-kvm", BENCH_X86_64, anyhv_available, anyhv_run,
                                                         "kvm", NULL };
const struct bench_engine bench_engine_anyhv_x86_soft_interp = { "anyhv-soft-interp", BENCH_X86_64, anyhv_available,
                                                                 anyhv_run, "soft", "off" };
const struct bench_engine bench_engine_anyhv_x86_soft_jit = { "anyhv-soft-jit", BENCH_X86_64, anyhv_available,
                                                              anyhv_run, "soft", "on" };
const struct bench_engine bench_engine_anyhv_arm64_soft_interp = { "anyhv-soft-interp", BENCH_ARM64, anyhv_available,
                                                                   anyhv_run, "soft", "off" };
const struct bench_engine bench_engine_anyhv_arm64_soft_jit = { "anyhv-soft-jit", BENCH_ARM64, anyhv_available,
                                                                anyhv_run, "soft", "on" };
