// The version of lpusim (CMakeLists.txt's project version) and the git commit the binary
// was configured from ("unknown" outside a git checkout).
#pragma once

#include <string>
#include <string_view>

namespace lpu {

std::string_view lpusim_version();
std::string_view lpusim_commit();
// "lpusim 0.1.0 (commit 0123abcd4567)": what `lpusim --version` prints and reports cite.
std::string lpusim_version_line();

}  // namespace lpu
