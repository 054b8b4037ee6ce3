import { fastAnswers } from "./fast.js";
import { report } from "./lib.js";
import { planScaling, start20 } from "./reconcile.js";

/** `npx tsx bench/issue13-only.ts`: only the fast-answers figures (a few minutes). */
report([...(await fastAnswers()), await start20(), ...(await planScaling())]);
