/* Symbol export and C linkage for anyhv's public headers.
 * Every public function is declared with ANYHV_API; the libraries are built with
 * -fvisibility=hidden, so only these names reach the dynamic symbol table. */
#ifndef ANYHV_EXPORT_H
#define ANYHV_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define ANYHV_API __attribute__((visibility("default")))
#else
#define ANYHV_API
#endif

#ifdef __cplusplus
#define ANYHV_BEGIN_DECLS extern "C" {
#define ANYHV_END_DECLS }
#else
#define ANYHV_BEGIN_DECLS
#define ANYHV_END_DECLS
#endif

#endif /* ANYHV_EXPORT_H */
