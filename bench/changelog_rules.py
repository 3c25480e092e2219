"""The documented changelog rules of git-cliff and commitizen, stated in our configuration
format for `bench.changelog` (translated rule by rule from the projects' own configuration)."""

# git-cliff's cliff.toml (orhun/git-cliff, [git] section) in our format: filter_unconventional =
# true → unconventional = "skip"; commit_parsers in their order; ignore_tags = "rc|...".
# protect_breaking_commits = false there; we keep breaking changes regardless (by design).
# filter_commits = false keeps commits no parser matches, which git-cliff then shows under
# their own type: the one such type in these ranges is `build`, hence the last rule.
GIT_CLIFF_RULES = r"""
[changelog]
unconventional = "skip"
breaking_group = ""
default_group = ""
sort = "scope"
[versions]
ignore_tags = 'rc|v2\.1\.0|v2\.1\.1'
[[groups]]
key = "feat"
title = "⛰️  Features"
[[groups]]
key = "fix"
title = "🐛 Bug Fixes"
[[groups]]
key = "refactor"
title = "🚜 Refactor"
[[groups]]
key = "docs"
title = "📚 Documentation"
[[groups]]
key = "perf"
title = "⚡ Performance"
[[groups]]
key = "style"
title = "🎨 Styling"
[[groups]]
key = "test"
title = "🧪 Testing"
[[groups]]
key = "chore"
title = "⚙️ Miscellaneous Tasks"
[[groups]]
key = "security"
title = "🛡️ Security"
[[groups]]
key = "revert"
title = "◀️ Revert"
[[groups]]
key = "build"
title = "Build"
[[parsers]]
message = '^[a-z]+\s*:'
skip = true
[[parsers]]
message = '^feat'
group = "feat"
[[parsers]]
message = '^fix'
group = "fix"
[[parsers]]
message = '^doc'
group = "docs"
[[parsers]]
message = '^perf'
group = "perf"
[[parsers]]
message = '^refactor\(clippy\)'
skip = true
[[parsers]]
message = '^refactor'
group = "refactor"
[[parsers]]
message = '^style'
group = "style"
[[parsers]]
message = '^test'
group = "test"
[[parsers]]
message = '^chore\(release\): prepare for'
skip = true
[[parsers]]
message = '^chore\(deps.*\)'
skip = true
[[parsers]]
message = '^chore\(pr\)'
skip = true
[[parsers]]
message = '^chore\(pull\)'
skip = true
[[parsers]]
message = '^chore\(npm\).*yarn\.lock'
skip = true
[[parsers]]
message = '^chore|^ci'
group = "chore"
[[parsers]]
body = '.*security'
group = "security"
[[parsers]]
message = '^revert'
group = "revert"
[[parsers]]
type = '^build$'
group = "build"
"""

# commitizen's cz_conventional_commits: the changelog takes feat, fix, refactor, perf (its
# change_type_map) and breaking changes (BREAKING CHANGE, first in change_type_order); every
# other type, and any header without a type, is left out.
COMMITIZEN_RULES = r"""
[changelog]
unconventional = "skip"
breaking_group = "breaking"
default_group = ""
sort = "newest"
[[groups]]
key = "breaking"
title = "BREAKING CHANGE"
[[groups]]
key = "feat"
title = "Feat"
[[groups]]
key = "fix"
title = "Fix"
[[groups]]
key = "refactor"
title = "Refactor"
[[groups]]
key = "perf"
title = "Perf"
[[parsers]]
type = '^feat$'
group = "feat"
[[parsers]]
type = '^fix$'
group = "fix"
[[parsers]]
type = '^refactor$'
group = "refactor"
[[parsers]]
type = '^perf$'
group = "perf"
[[parsers]]
type = '.'
skip = true
"""
