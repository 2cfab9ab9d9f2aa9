"""Write assets/models/MODEL_CARD.md from the shipped models' own records (config, metrics, cards).

    python docs/make_model_cards.py
"""

from __future__ import annotations

import json
from pathlib import Path

from unique_core.atomic import write_text
from unique_core.config import models_dir


# what each model's residual is added to (DownscaleConfig.base_map)
BASE_NAMES = {"gpp_m": "bilinear GPP_M", "unmix": "land-cover unmixing of GPP_M (also an input)",
              "gpp_l": "the day's GPP_L from interpolated Landsat indices"}


def _fmt(v):
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def step1_section(sensor: str) -> list[str]:
    folder = models_dir() / f"gpp_{sensor}"
    if not (folder / "config.json").exists():
        return [f"## gpp_{sensor}\n\nNot shipped yet.\n"]
    cfg = json.loads((folder / "config.json").read_text())
    met = json.loads((folder / "metrics.json").read_text())
    name = "GPP_M" if sensor == "modis" else "GPP_L"
    out = [f"## gpp_{sensor}: {name} (LightGBM, `model.txt`)\n",
           f"- Trained on {cfg['training_rows']:,} site-days from {cfg['training_sites']} flux sites (days with "
           f"NEE_VUT_REF_QC >= {cfg.get('min_qc', 0.8)}, {cfg.get('partition', 'NT')} partitioning), {cfg['data']}.",
           f"- Features ({len(json.loads((folder / 'features.json').read_text()))}): "
           + ", ".join(json.loads((folder / "features.json").read_text())) + ".",
           f"- LightGBM {cfg['rounds']} trees, parameters `{json.dumps({k: cfg['params'][k] for k in ('learning_rate', 'num_leaves', 'min_data_in_leaf', 'feature_fraction', 'bagging_fraction', 'lambda_l2')})}`; "
           f"UNIQUE {cfg['unique_version']}; booster digest `{cfg['digest']}`.",
           f"- Validation: {met.get('folds', 20)}-fold spatial cross-validation (sites within 100 km share a fold), "
           f"{met.get('sites')} sites, {met.get('site_days', 0):,} site-days:\n",
           "| method | r | RMSE (gC m-2 d-1) | bias | R2 |", "| --- | --- | --- | --- | --- |"]
    for m, v in met.get("methods", {}).items():
        o = v["overall"]
        out.append(f"| {m} | {_fmt(o['r'])} | {_fmt(o['rmse'])} | {_fmt(o['bias'])} | {_fmt(o['r2'])} |")
    out.append("")
    return out


def step2_section() -> list[str]:
    out = []
    ev_path = models_dir() / "downscale_evaluation.json"
    ev = json.loads(ev_path.read_text()) if ev_path.exists() else None
    for name in ("s2", "s1", "regression"):
        card_path = models_dir() / f"downscale_{name}" / "card.json"
        if not card_path.exists():
            out.append(f"## downscale_{name}\n\nNot shipped yet.\n")
            continue
        c = json.loads(card_path.read_text())
        cfg = c["config"]
        out += [f"## downscale_{name}: {'diffusion ' + name.upper() if name != 'regression' else 'regression baseline (same S2 inputs)'} "
                "(`weights.safetensors` + `config.json`)\n",
                f"- Conditional UNet, base {cfg['base']} channels, levels {cfg['mults']}, {c['parameters']:,} parameters; "
                f"inputs: {', '.join(cfg['channels'])}; predicts the residual GPP_L − "
                f"{BASE_NAMES.get(cfg.get('base_map', 'gpp_m'), cfg.get('base_map'))} "
                f"({'v-prediction, cosine schedule, ' + str(cfg['timesteps']) + ' steps' if cfg['kind'] == 'diffusion' else 'mean-squared error'}).",
                f"- Data: simulated Korea (seed {c['data_seed']}), {c['train_samples']} training and {c['val_samples']} "
                f"validation tile-dates of {c['years']}: tiles {', '.join(c['training_tiles'])} (validation "
                f"{', '.join(c['validation_tiles'])}); random {c['train_config']['crop']} px crops of the 400 px tiles "
                "(the network is fully convolutional; inference uses 150-160 px patches).",
                f"- Training: {c['steps']} AdamW steps, batch {c['train_config']['batch']}, lr {c['train_config']['lr']} "
                f"(warm-up, cosine decay), EMA {c['train_config']['ema']}; {c['hardware']}; "
                f"{c['seconds_this_run']:.0f} s in the last run.",
                f"- Final losses: " + ", ".join(f"{k} {v:.4f}" for k, v in _last_losses(c).items()) + "."]
        choice = Path(__file__).resolve().parent / "figures" / "step2" / "s2_base_choice.json"
        if name == "s2" and cfg.get("base_map", "gpp_m") != "gpp_m" and choice.exists():
            ch = json.loads(choice.read_text())
            out.append(f"- Base map chosen on the validation tiles against GPP_L (`python docs/choose_s2_base.py`, "
                       f"{ch['unmix']['windows']} windows, {ch['members']} members, DDIM {ch['ddim_steps']}): "
                       f"RMSE {ch['unmix']['rmse']:.4f} {ch['units']} on the unmixing base against "
                       f"{ch['bilinear']['rmse']:.4f} on the bilinear GPP_M base (ratio {ch['rmse_ratio']}, "
                       f"90 % CI {ch['rmse_ratio_ci90'][0]}-{ch['rmse_ratio_ci90'][1]}).")
        cal = json.loads((models_dir() / f"downscale_{name}" / "config.json").read_text()).get("spread_calibration")
        if cal and cal.get("model") == "finite_ensemble":
            out.append(f"- Spread model (`unique downscale calibrate`) fitted on {cal['windows']} windows of the "
                       f"validation tiles {', '.join(cal.get('tiles', []))} against GPP_L (never the test tiles or the "
                       f"truth), {cal['fit_members']} raw members: DDIM {cal['steps']}, k {cal['k']}, GPP_M-error "
                       f"factor {cal['a']}; raw spread/skill {cal['raw_spread_skill']}; bands are allowed for "
                       f"{cal['members_range'][0]}-{cal['members_range'][1]} members at DDIM "
                       f"{cal['steps'][0]}-{cal['steps'][-1]}.")
        elif cal:
            out.append(f"- Ensemble spread scaled by {cal['spread_scale']:.2f} (the old single-factor calibration at "
                       f"{cal['members']} members, DDIM {cal['ddim_steps']}); the app refuses a band until "
                       "`unique downscale calibrate` fits the spread model.")
        if ev and "ordinary" in ev and name in ev["ordinary"]["methods"]:
            o, peers = ev["ordinary"]["methods"][name], ev["ordinary"]["methods"]
            out.append(f"- Held-out test tiles ({', '.join(ev['split']['test_names'])}; 6 km or more from every "
                       f"training and validation tile), ordinary days of {ev['year']} (every {ev['cadence_days']}th day, "
                       f"{ev['ordinary']['windows']} windows), against the simulated truth: RMSE {o['truth']['rmse']:.3f} "
                       f"(90 % CI {o['truth']['rmse_ci90'][0]:.2f}-{o['truth']['rmse_ci90'][1]:.2f}); bilinear GPP_M "
                       f"{peers['gpp_m_bilinear']['truth']['rmse']:.3f}, land-cover unmixing {peers['unmix']['truth']['rmse']:.3f}, "
                       f"GPP_L interpolated two-sided {peers['gpp_l_two_sided']['truth']['rmse']:.3f} gC m-2 d-1"
                       + (f"; CRPS {o['crps']:.3f}, members' spread/skill {o['spread_skill']:.2f}" if "spread_skill" in o else "")
                       + (f", spread/skill of the band a user sees {o['band_spread_skill']:.2f}" if "band_spread_skill" in o else "")
                       + " (`unique downscale evaluate`, docs/step2.md).")
        if ev and name in ev["methods"]:
            r = ev["methods"][name]
            out.append(f"- Held-out Landsat-clear dates of {ev['year']} ({ev['windows']} windows of 150 px): RMSE against GPP_L "
                       f"{r['vs_gpp_l']['rmse']:.3f}, against the truth {r['vs_truth']['rmse']:.3f} gC m-2 d-1"
                       + (f"; CRPS {r['crps_vs_truth']:.3f}, spread/skill {r['spread_skill_vs_gpp_l']:.2f}" if 'spread_skill_vs_gpp_l' in r else "")
                       + ".")
        out.append("")
    return out


def s3_section() -> list[str]:
    """S3 (temporal fusion, beyond the paper): its data recipe, training record and calibration."""
    folder = models_dir() / "downscale_s3"
    if not (folder / "card.json").exists():
        return ["## downscale_s3\n\nNot shipped yet.\n"]
    c = json.loads((folder / "card.json").read_text())
    cfg = c["config"]
    cal = json.loads((folder / "config.json").read_text()).get("spread_calibration") or {}
    out = ["## downscale_s3: diffusion S3, temporal fusion (`weights.safetensors` + `config.json`)\n",
           f"- Conditional UNet, base {cfg['base']} channels, levels {cfg['mults']}, {c['parameters']:,} parameters; "
           f"inputs: {', '.join(cfg['channels'])}: S2's channels plus the day's GPP_L from Landsat indices "
           "interpolated in time (the gpp_l_two_sided / gpp_l_past peers' code), GPP_M made with the same clear views' "
           "MODIS indices and the day's weather, interpolated with the same per-pixel weights (gpp_m_view_vegetation: "
           "today's GPP_M minus it is how much the vegetation seen at 500 m changed since), and the days since / until those views (past-only: days-until is always 'none', 65 days). One "
           "network for both variants. Predicts the clear-day GPP_L's residual over "
           f"{ {'gpp_l': 'the interpolated GPP_L', 'gpp_l_change': 'the interpolated GPP_L plus GPP_M vegetation change since its views'}.get(cfg.get('base_map'), 'bilinear GPP_M')} "
           "(v-prediction, cosine schedule).",
           f"- Data: simulated Korea (seed {c['data_seed']}), {c['train_samples']} training and {c['val_samples']} "
           f"validation box-dates (6 x 6 km quarters of the training / validation tiles: "
           f"{', '.join(c['training_boxes'])}; validation {', '.join(c['validation_boxes'])}). "
           "Each pair's Landsat input is interpolated from the other acquisitions only (the target scene withheld), "
           f"so it cannot copy its target; random {c['train_config']['crop']} px crops, the variant drawn per crop.",
           f"- Training: {c['steps']} AdamW steps{' (stopped early of ' + str(c['planned_steps']) + ')' if c.get('stopped_early') else ''}, "
           f"batch {c['train_config']['batch']}, lr {c['train_config']['lr']}, EMA {c['train_config']['ema']}; "
           f"{c['hardware']}.",
           "- Final losses: " + ", ".join(f"{k} {v:.4f}" for k, v in _last_losses(c).items()) + "."]
    if c.get("training_note"):
        out.append(f"- Note: {c['training_note']}")
    if cal.get("model") == "finite_ensemble":
        out.append(f"- Spread model fitted on {cal['windows']} validation windows against GPP_L (never the test tiles "
                   f"or the truth): DDIM {cal['steps']}, k {cal['k']}, GPP_M-error factor {cal['a']}; the band a user "
                   "sees adds the GPP_L model's spatial-CV error per 30 m pixel (downscale/uncertainty.py).")
    else:
        out.append("- Ensemble spread not calibrated: `unique downscale run --scheme s3` writes the mean of one member "
                   "(or refuses a band) until `unique downscale calibrate --scheme s3` has run.")
    out.append("")
    return out


def _last_losses(card: dict) -> dict:
    out = {}
    for h in card["history"]:
        for k in ("train_loss", "val_loss"):
            if k in h:
                out[k] = h[k]
    return out


def main() -> None:
    lines = ["# Shipped models\n",
             "All models are trained on UNIQUE's simulated data (seed 2026): they are demonstrations of the method "
             "on a world whose truth is known, not models of the real country. Weights are LightGBM text and "
             "safetensors (never pickles). This card is written by `python docs/make_model_cards.py` from the "
             "models' own config, metrics and card files.\n"]
    lines += step1_section("modis") + step1_section("landsat") + step2_section() + s3_section()
    write_text(models_dir() / "MODEL_CARD.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
