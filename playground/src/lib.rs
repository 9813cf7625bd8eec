//! The policy playground (`make playground`): the filter's own evaluation compiled for the
//! browser with `wasm-bindgen`. The page's JavaScript only passes text in and renders the JSON
//! each function returns; every decision comes from `warden-filter`.
#![deny(unsafe_code)]

pub mod examples;
pub mod views;

use wasm_bindgen::prelude::wasm_bindgen;

/// The configuration check the editor runs as the user types: `{ok, default_profile, profiles}`
/// or `{ok: false, path, message}`.
#[wasm_bindgen]
pub fn check_config(config: &str) -> String {
    views::check_config(config).to_string()
}

/// The JSON Schema of the configuration (the one committed in `schema/`).
#[wasm_bindgen]
pub fn config_schema() -> String {
    warden_filter::config::schema::json_schema().to_string()
}

/// The examples the page offers: `[{name, note, path, headers, config, request, response}]`.
#[wasm_bindgen]
pub fn examples() -> String {
    examples::all().to_string()
}

/// One exchange run through the filter; each method returns one view as JSON.
#[wasm_bindgen]
pub struct Session {
    views: views::Views,
}

#[wasm_bindgen]
impl Session {
    #[wasm_bindgen(constructor)]
    pub fn new(config: &str, path: &str, headers: &str, request: &str, response: &str) -> Session {
        let input = views::Input {
            config: config.to_owned(),
            path: path.to_owned(),
            headers: headers.to_owned(),
            request: request.to_owned(),
            response: response.to_owned(),
        };
        Session { views: views::run(&input) }
    }

    /// The configuration check (as `check_config`).
    pub fn config(&self) -> String {
        self.views.config.to_string()
    }

    /// Per tool result of the request: its decision, why, and the `result_policies` row.
    pub fn trust(&self) -> String {
        self.views.trust.to_string()
    }

    /// Per tool call of the response: allowed or blocked, why, and the `tool_policies` row.
    pub fn tool_calls(&self) -> String {
        self.views.tool_calls.to_string()
    }

    /// What the upstream and the client get: the request as forwarded (or its refusal) and the
    /// response as the client receives it.
    pub fn refusal(&self) -> String {
        self.views.refusal.to_string()
    }

    /// Tool results before and after TOON, with token counts.
    pub fn toon(&self) -> String {
        self.views.toon.to_string()
    }

    /// The optimisation rule that fired and the cost before and after.
    pub fn optimisation(&self) -> String {
        self.views.optimisation.to_string()
    }

    /// The interaction record the filter would log.
    pub fn record(&self) -> String {
        self.views.record.to_string()
    }
}
