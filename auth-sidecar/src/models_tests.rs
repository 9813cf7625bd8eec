use super::*;
use serde_json::json;

#[test]
fn each_providers_list_shape_gives_its_model_ids() {
    let openai = json!({"object": "list", "data": [{"id": "gpt-5", "object": "model"}, {"id": "gpt-5-mini"}, {"object": "model"}]});
    assert_eq!(ids_in_data(&openai), ["gpt-5", "gpt-5-mini"]);
    let gemini = json!({"models": [
        {"name": "models/gemini-2.5-flash", "supportedGenerationMethods": ["generateContent", "countTokens"]},
        {"name": "models/text-embedding-004", "supportedGenerationMethods": ["embedContent"]},
        {"name": "models/gemini-2.5-pro"}]});
    assert_eq!(gemini_ids(&gemini), ["gemini-2.5-flash", "gemini-2.5-pro"]);
    let cohere = json!({"models": [{"name": "command-a-03-2025", "endpoints": ["chat"]}], "next_page_token": null});
    assert_eq!(cohere_ids(&cohere), ["command-a-03-2025"]);
    let bedrock = json!({"inferenceProfileSummaries": [
        {"inferenceProfileId": "us.anthropic.claude-sonnet-4-5-v1:0", "status": "ACTIVE", "type": "SYSTEM_DEFINED"},
        {"inferenceProfileId": "us.deepseek.r1-v1:0", "status": "ACTIVE"},
        {"inferenceProfileId": "eu.meta.llama3-v1:0", "status": "DISABLED"}]});
    assert_eq!(inference_profile_ids(&bedrock), ["us.anthropic.claude-sonnet-4-5-v1:0", "us.deepseek.r1-v1:0"]);
    for odd in [json!(null), json!([]), json!({"data": "x"}), json!({"models": [1, "a"]})] {
        assert!(ids_in_data(&odd).is_empty() && gemini_ids(&odd).is_empty() && cohere_ids(&odd).is_empty());
    }
}

#[test]
fn the_vendor_of_a_bedrock_id_is_its_segment_after_the_region() {
    for (id, vendor) in [
        ("us.deepseek.r1-v1:0", "deepseek"),
        ("amazon.nova-pro-v1:0", "amazon"),
        ("global.anthropic.claude-sonnet-4-5-v1:0", "anthropic"),
        ("", ""),
    ] {
        assert_eq!(vendor_of(id), vendor, "{id}");
    }
}
