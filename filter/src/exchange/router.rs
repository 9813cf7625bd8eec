//! The model router's side of an exchange (DESIGN §4.8): which provider and model a routed request
//! goes to, the chat hub the pipeline polices, the target's own request, and its answer back in
//! the client's API. The translations themselves live with the wire formats
//! (`providers::translate`, `providers/<target>/from_chat`, `openai_responses::via_chat`).

use super::Exchange;
use crate::error::WardenError;
use crate::keys::Subject;
use crate::providers::openai_responses::via_chat;
use crate::providers::translate::{self, table::Plan, Answer, ChunkTranslator, FromChat, ReplyMeta};
use crate::providers::{Body, Provider};
use crate::routes;
use crate::stream::{Decoder, Frame, Framing};
use crate::view::{self, Api};
use serde_json::{json, Value};
use warden_proto::v1::{self as pb, resolve_reply::Outcome};

/// What the router decided for one request.
#[derive(Debug)]
pub(super) struct Routing {
    pub target: Provider,
    /// The target's own model id (the part after `provider:`).
    pub model: String,
    pub plan: Plan,
    /// A Responses request answered through chat: what its Response object repeats back.
    pub echo: Option<via_chat::Echo>,
    /// How the target frames a streamed answer (known once the request is translated).
    pub framing: Framing,
    pub meta: ReplyMeta,
    /// The target and model the client asked for, while an optimisation rule's move to another
    /// provider waits for the key's answer (`Exchange::retreat`).
    pub moved_from: Option<(Provider, String)>,
    /// The body as `choose_target` parsed it (for its model), until the body stage takes it:
    /// a routed body is parsed once.
    pub parsed: Option<Body>,
}

impl Routing {
    /// The translation of the target, when the request is translated (not for OpenAI-wire
    /// targets, which get the client's own API).
    fn translator(&self) -> Option<&'static dyn FromChat> {
        match self.plan {
            Plan::Native => None,
            Plan::Chat(t) | Plan::ResponsesViaChat(t) => Some(t),
        }
    }
}

/// Splits a routed model id: `provider:model` at the first `:` when the part before it is a
/// provider name (`bedrock:amazon.nova-pro-v1:0`), else the whole id is a model of `default`.
pub fn split_model(id: &str, default: Option<&str>) -> Result<(Provider, String), WardenError> {
    if let Some((prefix, model)) = id.split_once(':') {
        if let Some(provider) = Provider::from_name(prefix) {
            if model.trim().is_empty() {
                return Err(WardenError::InvalidRequest {
                    message: format!("the model '{id}' names no model after '{prefix}:'"),
                });
            }
            return Ok((provider, model.to_owned()));
        }
    }
    match default.and_then(Provider::from_name) {
        Some(provider) => Ok((provider, id.to_owned())),
        None => Err(WardenError::InvalidRequest {
            message: format!(
                "the model router needs a provider in the model id: 'provider:model' (for example 'anthropic:claude-sonnet-4-5' or 'bedrock:amazon.nova-pro-v1:0'); '{id}' names none and this profile sets no router.default_provider"
            ),
        }),
    }
}

fn unsupported(field: &str, target: &'static str, why: &str) -> WardenError {
    WardenError::Translation(translate::TranslateError::unsupported(field, target, why))
}

impl Exchange {
    /// For a model-router request, reads the body's `model` and decides the target before the key
    /// is resolved for it: the route's provider becomes the target's. `request_id` and
    /// `now_secs` make the id and `created` of answers the target does not give. Nothing to do on
    /// other routes.
    pub fn choose_target(&mut self, body: Option<&[u8]>, request_id: &str, now_secs: u64) -> Result<(), WardenError> {
        if !self.route.routed {
            return Ok(());
        }
        if matches!(self.key, super::key::KeyState::None) {
            return Err(WardenError::KeyRequired);
        }
        let Some(api) = self.route.api.filter(|api| *api != Api::Models) else { return Ok(()) };
        let body = Body::parse(body.unwrap_or_default())?;
        let Some(id) = body.json().get("model").and_then(Value::as_str) else {
            return Err(WardenError::InvalidRequest {
                message: "name the model as 'provider:model' in the body's 'model' field".to_owned(),
            });
        };
        let default = self.config.profiles.get(&self.route.profile).and_then(|p| p.router.default_provider.as_deref());
        let (asked, model) = split_model(id, default)?;
        let id: String = request_id.chars().filter(char::is_ascii_alphanumeric).take(32).collect();
        let meta = ReplyMeta { id: format!("chatcmpl-{id}"), created: now_secs, model: String::new() };
        let choice = self.routed_optimisation(api, &body, asked)?.map(|(to, m)| (to, m.to_owned()));
        let aimed = match choice {
            Some((to, optimised)) if to != asked => {
                // Tried first; `retreat` goes back to what the client asked for when the key maps
                // no credential for `to` (or the router cannot serve this API there).
                if self.aim(api, to, optimised, meta.clone()).is_ok() {
                    self.facts.baseline_model = Some(format!("{}:{model}", asked.name()));
                    self.facts.baseline_provider = Some(asked);
                    if let Some(routing) = self.routing.as_mut() {
                        routing.moved_from = Some((asked, model));
                    }
                    Ok(())
                } else {
                    self.aim(api, asked, model, meta)
                }
            }
            Some((_, optimised)) if optimised != model => {
                self.aim(api, asked, optimised, meta).map(|()| self.facts.baseline_model = Some(model))
            }
            _ => self.aim(api, asked, model, meta),
        };
        if let Some(routing) = self.routing.as_mut() {
            routing.parsed = Some(body);
        }
        aimed
    }

    /// Points the request at `target`'s `model`: the plan (translated, or the client's own API
    /// at an OpenAI-wire target), the route's provider and the model the pipeline sees.
    fn aim(&mut self, api: Api, target: Provider, model: String, mut meta: ReplyMeta) -> Result<(), WardenError> {
        let plan = match api {
            Api::Embeddings
                if target == Provider::OpenAi || target == Provider::Azure || target.is_openai_compatible() =>
            {
                Plan::Native
            }
            Api::Embeddings => {
                return Err(unsupported(
                    "model",
                    target.name(),
                    "the model router serves /embeddings only for providers with an OpenAI-format embeddings API",
                ))
            }
            _ => translate::table::plan(api, target).ok_or_else(|| WardenError::InvalidRequest {
                message: format!("the model router does not serve this API for {}", target.name()),
            })?,
        };
        if target == Provider::Bedrock {
            let allowed = self.config.profiles.get(&self.route.profile).map(|p| &p.router.bedrock);
            if allowed.is_some_and(|a| !a.allows(&model)) {
                return Err(unsupported(
                    "model",
                    target.name(),
                    &format!("the Bedrock model '{model}' is outside this profile's router.bedrock allowed providers and regions"),
                ));
            }
        }
        if matches!(plan, Plan::Native) {
            // The client's own API at the target: routed like a native request to it.
            let path = match api {
                Api::Responses => "responses",
                Api::Embeddings => "embeddings",
                _ => "chat/completions",
            };
            let native = routes::classify(&self.config, "POST", &format!("/v1/{}/{path}", target.name()))?;
            self.route.upstream = native.upstream;
        }
        meta.model.clone_from(&model);
        self.route.provider = target;
        self.facts.model = Some(model.clone());
        self.routing = Some(Routing {
            target,
            model,
            plan,
            echo: None,
            framing: Framing::Sse,
            meta,
            moved_from: None,
            parsed: None,
        });
        Ok(())
    }

    /// The profile's optimisation rule for a routed request to `target` (DESIGN §5.4). Decided
    /// here, before the key is resolved, because a rule may move the request to another
    /// provider's model, and the key's credential for that provider is what gets asked for. The
    /// body is parsed for it only when the profile has a rule for `target`.
    fn routed_optimisation<'c>(
        &'c self,
        api: Api,
        body: &Body,
        target: Provider,
    ) -> Result<Option<(Provider, &'c str)>, WardenError> {
        let Some(profile) = self.config.profiles.get(&self.route.profile) else { return Ok(None) };
        if !matches!(api, Api::ChatCompletions | Api::Responses)
            || !profile.optimization_rules.iter().any(|r| r.provider == target.name())
        {
            return Ok(None);
        }
        let Some(view) = crate::providers::parse_request(api, body.json()) else { return Ok(None) };
        let tokenizer = self.config.tokenizer.as_ref();
        Ok(super::optimise::choose_model(&profile.optimization_rules, target, &view, tokenizer, true))
    }

    /// A key that serves the asked provider's models through another provider it maps (keys file
    /// `via:`, `ResolveReply.served_by`) sends a routed request there: the same model id, that
    /// provider's API and credential. A native route speaks the asked provider's own API, so it
    /// cannot follow: 400.
    pub(super) fn follow_served_by(&mut self, reply: &pb::ResolveReply) -> Result<(), WardenError> {
        if reply.served_by.is_empty() || Outcome::try_from(reply.outcome) != Ok(Outcome::Ok) {
            return Ok(());
        }
        let asked = self.route.provider.name();
        let Some(host) = Provider::from_name(&reply.served_by) else {
            return Err(WardenError::InvalidRequest {
                message: format!("this key serves {asked} through a provider this gateway does not know"),
            });
        };
        let (Some(routing), Some(api)) = (self.routing.as_ref(), self.route.api) else {
            return Err(WardenError::InvalidRequest {
                message: format!(
                    "this key serves {asked} models through {host}: send the request through the model router (model '{asked}:…') or to /v1/{host}",
                    host = host.name()
                ),
            });
        };
        let (model, meta) = (routing.model.clone(), routing.meta.clone());
        self.aim(api, host, model, meta)
    }

    /// A request an optimisation rule moved to another provider goes back to the target and
    /// model the client asked for when the key maps no credential there (`reply` is
    /// `NOT_MAPPED`). True when it went back: the key must then be resolved for that target.
    pub(super) fn retreat(&mut self, reply: &pb::ResolveReply) -> bool {
        if Outcome::try_from(reply.outcome) != Ok(Outcome::NotMapped) {
            return false;
        }
        let Some(routing) = self.routing.as_mut() else { return false };
        let Some((target, model)) = routing.moved_from.take() else { return false };
        let meta = routing.meta.clone();
        let Some(api) = self.route.api else { return false };
        self.facts.baseline_model = None;
        self.facts.baseline_provider = None;
        // It was aimed there before the move was tried, so it can be again.
        self.aim(api, target, model, meta).is_ok()
    }

    /// The API the pipeline polices the body and answer as: the chat hub for translated
    /// requests, the client's own otherwise.
    pub(super) fn wire_api(&self) -> Option<Api> {
        match self.routing.as_ref().map(|r| r.plan) {
            Some(Plan::Chat(_) | Plan::ResponsesViaChat(_)) => Some(Api::ChatCompletions),
            _ => self.route.api,
        }
    }

    /// A routed body as the pipeline reads it: a Responses request made a chat request when the
    /// target has no Responses API, and the model renamed to the target's own id.
    pub(super) fn routed_body(&mut self, body: &mut Body) -> Result<(), WardenError> {
        let Some(routing) = self.routing.as_mut() else { return Ok(()) };
        if let Plan::ResponsesViaChat(_) = routing.plan {
            let (chat, echo) = via_chat::request(body.json()).map_err(WardenError::Translation)?;
            body.edit(|json| {
                *json = chat;
                true
            });
            routing.echo = Some(echo);
        }
        let model = routing.model.clone();
        body.set_model(&model);
        Ok(())
    }

    /// A translated request's final chat body as the target's own request: its path (through the
    /// target's route, so Vertex and Bedrock paths come out as for native requests), headers and
    /// body. `None` when the request is not translated.
    pub(super) fn translated(&mut self, body: &Body) -> Result<Option<super::Forward>, WardenError> {
        let Some(routing) = self.routing.as_mut() else { return Ok(None) };
        let Some(translator) = routing.translator() else { return Ok(None) };
        let model = self.facts.model.clone().unwrap_or_else(|| routing.model.clone());
        let native = translator.request(body.json(), &model).map_err(WardenError::Translation)?;
        let client_path = format!("/v1/{}{}", routing.target.name(), native.path);
        let target_route = routes::classify(&self.config, "POST", &client_path)?;
        routing.framing = native.framing;
        routing.meta.model.clone_from(&model);
        self.facts.stream = native.stream;
        self.route.gemini_sse = target_route.gemini_sse;
        self.route.stream_by_route = target_route.stream_by_route;
        let path = target_route.upstream_path(Some(&model))?;
        self.route.upstream = target_route.upstream;
        let mut forward = self.forward(path, Some(native.body));
        forward.set_headers.extend(native.headers);
        forward.set_headers.push(("content-type", "application/json".to_owned()));
        Ok(Some(forward))
    }

    /// The content type of a translated stream: what the client's API streams as.
    pub fn stream_content_type(&self) -> Option<&'static str> {
        self.translated_framing().map(|_| "text/event-stream")
    }

    /// The framing of a translated stream, and whether the request is translated at all.
    pub(super) fn translated_framing(&self) -> Option<Framing> {
        self.routing.as_ref().filter(|r| r.translator().is_some()).map(|r| r.framing)
    }

    /// The translation stage of a translated stream: target frames in, chat frames to the
    /// policing fold, and (Responses clients) Responses events out.
    /// `framing` is how the target's answer is actually framed (its content type's word).
    pub(super) fn stream_translation(&self, framing: Framing) -> Option<Translation> {
        let routing = self.routing.as_ref()?;
        let translator = routing.translator()?;
        let responses = routing
            .echo
            .clone()
            .map(|echo| (Decoder::new(Framing::Sse), via_chat::Stream::new(echo, routing.meta.clone())));
        Some(Translation {
            decoder: Decoder::new(framing),
            translator: translator.stream(routing.meta.clone(), true),
            responses,
            ended: false,
        })
    }

    /// A translated whole answer: an error in the OpenAI shape, or the target's answer as a chat
    /// completion for the policing that follows.
    pub(super) fn translate_whole(&self, status: u16, native: &[u8]) -> Option<Result<TranslatedWhole, WardenError>> {
        let routing = self.routing.as_ref()?;
        let translator = routing.translator()?;
        if !(200..300).contains(&status) {
            let (status, body) = translator.error(status, native);
            return Some(Ok(TranslatedWhole::Error { status, body }));
        }
        let whole = match translator.response(native, &routing.meta) {
            Ok(Answer::Translated(completion)) => {
                TranslatedWhole::Chat { bytes: completion.to_bytes(), view: completion.into_view() }
            }
            Ok(Answer::Chat) => match serde_json::from_slice::<Value>(native) {
                Ok(json @ Value::Object(_)) => TranslatedWhole::Chat {
                    view: crate::providers::openai_chat::response::parse(&json),
                    bytes: native.to_vec(),
                },
                _ => {
                    let why = "the answer is not a JSON object".to_owned();
                    return Some(Err(WardenError::Translation(translate::TranslateError::Upstream { why })));
                }
            },
            Err(err) => return Some(Err(WardenError::Translation(err))),
        };
        Some(Ok(whole))
    }

    /// The chat answer (policed, possibly a refusal) as the client's API: a Response object for
    /// Responses clients, the chat completion itself otherwise.
    pub(super) fn to_client(&self, chat: Vec<u8>) -> Result<Vec<u8>, WardenError> {
        match self.routing.as_ref().and_then(|r| r.echo.as_ref()) {
            Some(echo) => via_chat::response(&chat, echo).map_err(WardenError::Translation),
            None => Ok(chat),
        }
    }

    /// What a router model list asks the sidecar (`Models.List`): the providers the key maps
    /// whose models the profile's `router.models` does not name, once, after the key is resolved.
    /// `None` when nothing is to be asked.
    pub fn models_request(&self) -> Option<pb::ModelsRequest> {
        let mapped = self.facts.router_mapped.as_ref()?;
        if self.facts.live_models.is_some() {
            return None;
        }
        let listed = self.config.profiles.get(&self.route.profile).map(|p| &p.router.models);
        let providers: Vec<String> = mapped
            .iter()
            .filter(|p| Provider::from_name(p).is_some() && !listed.is_some_and(|l| l.contains_key(p.as_str())))
            .cloned()
            .collect();
        if providers.is_empty() {
            return None;
        }
        let subject = match &self.key {
            super::key::KeyState::Presented(p) => pb::models_request::Subject::KeySha256(p.sha256.to_vec()),
            super::key::KeyState::Client(id) => pb::models_request::Subject::OauthClientId(id.clone()),
            _ => return None,
        };
        Some(pb::ModelsRequest { subject: Some(subject), providers })
    }

    /// The sidecar's live lists (`None`: it gave none — not configured, down, too slow); the
    /// model list is answered with what there is.
    pub fn models_listed(&mut self, reply: Option<pb::ModelsReply>) {
        self.facts.live_models = Some(reply.map(|r| r.lists).unwrap_or_default());
    }

    /// `GET /v1/model-router/{profile}/models`: for each provider the key maps (`mapped`), in
    /// name order, the models of the profile's `router.models`, else the provider's live list;
    /// Bedrock ids only where `router.bedrock` allows them.
    pub(super) fn model_list(&self, mapped: &[String]) -> Vec<u8> {
        let mut data = Vec::new();
        if let Some(profile) = self.config.profiles.get(&self.route.profile) {
            let mut providers: Vec<&String> = mapped.iter().collect();
            providers.sort();
            providers.dedup();
            let live = self.facts.live_models.as_deref().unwrap_or_default();
            for provider in providers {
                let (models, served_by): (&[String], &str) = match profile.router.models.get(provider) {
                    Some(models) => (models, provider),
                    None => match live.iter().find(|l| l.provider == *provider) {
                        Some(l) => (&l.models, if l.served_by.is_empty() { provider } else { &l.served_by }),
                        None => continue,
                    },
                };
                let bedrock = served_by == Provider::Bedrock.name();
                for model in models.iter().filter(|m| !bedrock || profile.router.bedrock.allows(m)) {
                    data.push(json!({"id": format!("{provider}:{model}"), "object": "model", "owned_by": provider, "created": 0}));
                }
            }
        }
        json!({"object": "list", "data": data}).to_string().into_bytes()
    }

    /// The key's answer for a router model list: which providers it maps (any outcome but
    /// unknown and expired names them).
    pub(super) fn mapped_providers(reply: &pb::ResolveReply, subject: Subject) -> Result<Vec<String>, WardenError> {
        match Outcome::try_from(reply.outcome) {
            Ok(Outcome::Ok | Outcome::NotMapped) => Ok(reply.mapped_providers.clone()),
            Ok(Outcome::Expired) => Err(WardenError::KeyRejected { why: "expired" }),
            _ if matches!(subject, Subject::Client(_)) => Err(WardenError::KeyRequired),
            _ => Err(WardenError::KeyRejected { why: "not a key this gateway knows" }),
        }
    }
}

/// A translated whole answer.
pub(super) enum TranslatedWhole {
    Error {
        status: u16,
        body: Vec<u8>,
    },
    /// The chat completion as the translator wrote it, and its neutral view (with the target's
    /// own usage) for policing and metering: the answer is parsed once, from the target's bytes.
    Chat {
        bytes: Vec<u8>,
        view: view::Response,
    },
}

/// The translation stage of a routed stream (see `ResponseStream`): the target's frames become
/// chat SSE frames as they arrive; after policing, a Responses client's chat frames become
/// Responses events.
pub struct Translation {
    decoder: Decoder,
    translator: Box<dyn ChunkTranslator>,
    responses: Option<(Decoder, via_chat::Stream)>,
    /// The translator has written its end (the upstream ended, or its framing broke).
    ended: bool,
}

impl std::fmt::Debug for Translation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Translation").field("ended", &self.ended).finish_non_exhaustive()
    }
}

impl Translation {
    /// Target bytes in, chat SSE frames out. A framing the gateway cannot read ends the chat
    /// stream there with the translator's error event (nothing after it is read).
    pub fn to_chat(&mut self, chunk: &[u8], end: bool) -> Vec<Frame> {
        if self.ended {
            return Vec::new();
        }
        let mut native = Vec::new();
        let mut result = self.decoder.push(chunk, &mut native);
        if end && result.is_ok() {
            result = self.decoder.finish(&mut native).map(|_| ());
        }
        let mut chat = Vec::new();
        for frame in &native {
            self.translator.frame(frame, &mut chat);
        }
        if end || result.is_err() {
            self.translator.finish(&mut chat);
            self.ended = true;
        }
        chat
    }

    /// Policed chat bytes in, the client's bytes out.
    pub fn to_client(&mut self, chat: &[u8], end: bool, out: &mut Vec<u8>) {
        let Some((decoder, stream)) = self.responses.as_mut() else {
            out.extend_from_slice(chat);
            return;
        };
        let mut frames = Vec::new();
        let _ = decoder.push(chat, &mut frames);
        if end {
            let _ = decoder.finish(&mut frames);
        }
        let mut events = Vec::new();
        for frame in &frames {
            stream.frame(frame, &mut events);
        }
        if end {
            stream.finish(&mut events);
        }
        out.extend_from_slice(&frames_bytes(&events));
    }

    /// The target's own usage so far (the record meters the real provider's tokens).
    pub fn usage(&self) -> Option<view::Usage> {
        self.translator.usage()
    }
}

fn frames_bytes(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frames.iter().map(|f| f.raw.len()).sum());
    for frame in frames {
        out.extend_from_slice(&frame.raw);
    }
    out
}
