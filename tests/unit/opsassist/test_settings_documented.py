"""docs/configuration.md lists every setting, so the page cannot fall behind the code."""

from __future__ import annotations

from opsassist.settings import PROJECT_ROOT, Settings


def test_every_setting_is_documented() -> None:
    page = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    missing = []
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names = list(alias.choices) if alias is not None else [f"OPSASSIST_{name.upper()}"]  # type: ignore[union-attr]
        if not any(f"`{env}`" in page for env in names):
            missing.append(names[0])
    assert not missing, f"docs/configuration.md does not document {missing}"
