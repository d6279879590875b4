//! Variant-set files: one case per error, each naming its key; the bundled example loads.

use aoai::domain::call::WireApi;
use aoai::domain::compare::VariantSet;

fn err(toml: &str) -> String {
    VariantSet::from_toml_str(toml).unwrap_err().to_string()
}

const V: &str = "[[variant]]\nname = \"a\"\nuser = \"hi\"\n";

#[test]
fn each_error_names_its_key() {
    let cases: &[(&str, &str)] = &[
        (
            &format!("{V}temprature = 1\n"),
            "unknown field `temprature`",
        ),
        (&format!("colour = 1\n{V}"), "unknown field `colour`"),
        (
            &format!("[defaults]\nsystm = \"x\"\n{V}"),
            "unknown field `systm`",
        ),
        (
            &format!("[defaults]\nmax_tokens = \"many\"\n{V}"),
            "max_tokens = \"many\"",
        ),
        (
            &format!("baseline = \"zz\"\n{V}"),
            "baseline: no variant named `zz` (variants: a)",
        ),
        (
            "name = \"empty\"\n",
            "variant: the set has no [[variant]] tables",
        ),
        (
            &format!("{V}{V}"),
            "variant[2].name: `a` is used by an earlier variant",
        ),
        (
            "[[variant]]\nname = \"a\"\n",
            "variant[1].user: no `user` prompt and no `messages`: the variant sends nothing",
        ),
        (
            &format!("{V}temperature = 2.5\n"),
            "variant[1] (`a`).temperature: 2.5 is out of range (allowed: 0..=2)",
        ),
        (
            &format!("{V}top_p = 1.5\n"),
            "variant[1] (`a`).top_p: 1.5 is out of range (allowed: 0..=1)",
        ),
        (
            &format!("{V}max_tokens = 0\n"),
            "variant[1] (`a`).max_tokens: 0 is out of range (allowed: >= 1)",
        ),
        (
            &format!("{V}deployment = \" \"\n"),
            "variant[1].deployment: is empty",
        ),
        (&format!("repeat = 0\n{V}"), "repeat: must be at least 1"),
        (
            &format!("concurrency = 0\n{V}"),
            "concurrency: must be at least 1",
        ),
        (&format!("retry = \"sometimes\"\n{V}"), "retry: "),
        (
            "[[variant]]\nname = \"a\"\nmessages = [{ role = \"robot\", content = \"x\" }]\n",
            "variant[1].messages[1].role: `robot` is not one of: system, developer, user, assistant, tool",
        ),
        (
            "[[variant]]\nname = \"a\"\nmessages = [{ role = \"user\", text = \"x\" }]\n",
            "unknown field `text`",
        ),
        (
            &format!("{V}wire_api = \"completions\"\n"),
            "variant[1].wire_api: wire API `completions` is not one of: chat, responses",
        ),
        (
            &format!("{V}reasoning_effort = \"max\"\n"),
            "variant[1].reasoning_effort: `max` is not one of: minimal, low, medium, high",
        ),
    ];
    for (toml, want) in cases {
        let e = err(toml);
        assert!(e.contains(want), "for:\n{toml}\nwant `{want}` in:\n{e}");
    }
}

#[test]
fn defaults_apply_and_variants_override() {
    let s = VariantSet::from_toml_str(
        "[defaults]\nsystem = \"S\"\nuser = \"U\"\nseed = 3\nstream = false\n[[variant]]\nname = \"a\"\n[[variant]]\nname = \"b\"\nsystem = \"T\"\nmessages = [{ role = \"assistant\", content = \"M\" }]\n",
    )
    .unwrap();
    assert_eq!(s.baseline, 0);
    let texts = |i: usize| {
        s.variants[i]
            .chat_messages()
            .iter()
            .map(|m| format!("{}:{}", m.role, m.text()))
            .collect::<Vec<_>>()
    };
    assert_eq!(texts(0), ["system:S", "user:U"]);
    assert_eq!(texts(1), ["system:T", "assistant:M", "user:U"]);
    assert_eq!(s.variants[1].seed, Some(3));
    assert!(!s.variants[1].stream);
}

#[test]
fn a_variant_picks_its_wire_api_and_reasoning_effort() {
    let s = VariantSet::from_toml_str(
        "[defaults]\nuser = \"U\"\nwire_api = \"responses\"\n[[variant]]\nname = \"chat\"\nwire_api = \"chat\"\n[[variant]]\nname = \"resp\"\nreasoning_effort = \"low\"\n",
    )
    .unwrap();
    assert_eq!(s.variants[0].wire_api, Some(WireApi::Chat));
    assert_eq!(
        s.variants[1].wire_api,
        Some(WireApi::Responses),
        "from [defaults]"
    );
    assert_eq!(
        s.variants[1].request().extra.get("reasoning_effort"),
        Some(&serde_json::json!("low"))
    );
    assert!(s.variants[0].request().extra.is_empty());
}

#[test]
fn the_bundled_example_loads() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/compare-example.toml"
    ))
    .unwrap();
    let s = VariantSet::from_toml_str(&text).unwrap();
    assert!(s.variants.len() >= 2);
    assert_eq!(s.baseline().name, "plain");
}
