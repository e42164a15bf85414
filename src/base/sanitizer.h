/*
 * sanitizer.h — which sanitizer this translation unit is built with
 * (private): WEFT_ASAN and/or WEFT_TSAN defined to 1, for gcc
 * (__SANITIZE_*__) and clang (__has_feature) alike.
 */
#ifndef WEFT_BASE_SANITIZER_H
#define WEFT_BASE_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define WEFT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TSAN 1
#endif
#endif

#endif /* WEFT_BASE_SANITIZER_H */
