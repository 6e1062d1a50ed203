// AddressSanitizer with SystemC's coroutines. Has an effect only in ASan builds
// (LPUSIM_SANITIZE=ON, tools/sanitize.sh); in any other build this header is empty.
//
// SystemC 2.3.4 (Debian's libsystemc) runs each SC_THREAD on its own QuickThreads stack and
// reports every switch to ASan (__sanitizer_start/finish_switch_fiber). After sc_start()
// returns, ASan still takes the main thread to be on the last coroutine's stack, so at the
// next C++ throw it refuses to unpoison the frames being unwound ("ASan is ignoring requested
// __asan_handle_no_return", google/sanitizers#189) and later reports stack-buffer-overflows
// that do not exist. A 15-line SystemC program that throws after sc_start() shows the same.
//
// Workaround: the executable defines the two hooks as no-ops; the dynamic linker binds
// libsystemc's weak references to them, and ASan keeps the main thread's real stack. A throw
// inside a coroutine is then outside the stack ASan knows, and the one false report that
// follows, from ASan's own sigaltstack() call in __asan_handle_no_return, is suppressed by name.
//
// Include in exactly one source file of each executable that runs SystemC.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define LPUSIM_ASAN_SYSTEMC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LPUSIM_ASAN_SYSTEMC 1
#endif
#endif

#ifdef LPUSIM_ASAN_SYSTEMC
extern "C" {
void __sanitizer_start_switch_fiber(void**, const void*, unsigned long) {}
void __sanitizer_finish_switch_fiber(void*, const void**, unsigned long*) {}
const char* __asan_default_suppressions() { return "interceptor_name:sigaltstack\n"; }
}
#endif
