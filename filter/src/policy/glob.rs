//! Tool name patterns: an exact name, or a glob where `*` is any run of characters and `?` one
//! character. Hand-written because that is all policies need and a glob crate would grow the wasm.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolPattern {
    pattern: String,
    glob: bool,
}

impl ToolPattern {
    pub fn new(pattern: &str) -> ToolPattern {
        ToolPattern { pattern: pattern.to_owned(), glob: pattern.contains(['*', '?']) }
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn matches(&self, name: &str) -> bool {
        if self.glob {
            glob_match(&self.pattern, name)
        } else {
            self.pattern == name
        }
    }
}

/// Linear scan that, on a mismatch, retries from the most recent `*` with one more character
/// consumed by it: O(pattern × name) at worst, no recursion.
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = n.get(ni) {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&q) if q == '?' || q == c => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        ToolPattern::new(pattern).matches(name)
    }

    #[test]
    fn exact_names_match_only_themselves() {
        assert!(m("read_file", "read_file"));
        assert!(!m("read_file", "read_file2"));
        assert!(!m("read_file", ""));
    }

    #[test]
    fn star_matches_any_run_and_question_mark_one_character() {
        assert!(m("github__*", "github__create_issue"));
        assert!(m("github__*", "github__"));
        assert!(!m("github__*", "gitlab__create_issue"));
        assert!(m("*__delete_*", "github__delete_repo"));
        assert!(m("*a*b*c", "xaxxbxxcxc"));
        assert!(!m("*a*b*c", "xaxxbxx"));
        assert!(m("tool_?", "tool_1"));
        assert!(!m("tool_?", "tool_12"));
        assert!(m("*", ""));
        assert!(m("ü*", "über"));
    }
}
