import { describe, expect, it } from "vitest";
import en from "./en";
import { preferredLocale } from "./index";
import zhCN from "./zh-CN";

describe("i18n", () => {
  it("follows the browser, then the saved choice", () => {
    expect(preferredLocale(null, ["zh-TW", "en"])).toBe("zh-CN");
    expect(preferredLocale(null, ["de-DE", "en-GB"])).toBe("en");
    expect(preferredLocale(null, ["fr"])).toBe("en");
    expect(preferredLocale("zh-CN", ["en"])).toBe("zh-CN");
  });

  it("has every English message in Chinese", () => {
    const keys = (o: object, prefix = ""): string[] =>
      Object.entries(o).flatMap(([k, v]) => (typeof v === "object" ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
    expect(keys(zhCN).sort()).toEqual(keys(en).sort());
  });
});
