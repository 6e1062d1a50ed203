// ASan + SystemC coroutine workaround for the test binary; see sim/asan_systemc.hpp.
#include "sim/asan_systemc.hpp"
