import { useI18n } from "vue-i18n";
import type { Problem } from "./paramForm";

/** A client-side problem as a sentence in the current language. */
export function useProblemText(): (problem: Problem) => string {
  const { t } = useI18n();
  const text = (problem: Problem): string => {
    const params = { ...(problem.params ?? {}) };
    if (problem.key === "item" && params.problem) params.problem = text(params.problem as Problem);
    return t(`validation.${problem.key}`, params);
  };
  return text;
}
