#pragma once

// Clang thread-safety annotations (no-ops elsewhere), after leveldb's
// port/thread_annotations.h. Built with clang, -Wthread-safety checks them.
#if defined(__clang__)
#define ZKELECT_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define ZKELECT_THREAD_ANNOTATION(x)
#endif

#define GUARDED_BY(x) ZKELECT_THREAD_ANNOTATION(guarded_by(x))
#define REQUIRES(...) ZKELECT_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) ZKELECT_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) ZKELECT_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) ZKELECT_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define CAPABILITY(x) ZKELECT_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY ZKELECT_THREAD_ANNOTATION(scoped_lockable)
#define NO_THREAD_SAFETY_ANALYSIS ZKELECT_THREAD_ANNOTATION(no_thread_safety_analysis)
