use super::*;

#[test]
fn placeholder() {
    assert_eq!(parse_bool("T"), Some(true));
}
