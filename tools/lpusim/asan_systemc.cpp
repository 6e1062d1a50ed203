// ASan + SystemC coroutine workaround for the lpusim binary; see sim/asan_systemc.hpp.
#include "sim/asan_systemc.hpp"
