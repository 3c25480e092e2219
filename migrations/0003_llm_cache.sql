-- phase: expand
-- The LLM layer's answer cache (issue 5): one row per prompt version, model and input, so that
-- the same request is never paid for twice. A new prompt version or model is a new key; rows
-- of versions no longer used are removed by age (store.llm_cache.prune_llm_answers).

CREATE TABLE llm_answers (
    prompt_id          text NOT NULL,
    prompt_version     integer NOT NULL,
    model              text NOT NULL,             -- provider/model
    input_hash         text NOT NULL,             -- sha256 of the messages and model settings
    answer             jsonb NOT NULL,            -- the parsed, validated answer
    prompt_tokens      integer NOT NULL,          -- what the original request used
    completion_tokens  integer NOT NULL,
    cost_usd           double precision NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    hits               bigint NOT NULL DEFAULT 0,
    last_used_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (prompt_id, prompt_version, model, input_hash)
);
CREATE INDEX llm_answers_last_used_at ON llm_answers (last_used_at);
