import { flushPromises, mount, type ComponentMountingOptions } from "@vue/test-utils";
import ElementPlus from "element-plus";
import { createPinia } from "pinia";
import { createMemoryHistory, createRouter } from "vue-router";
import type { Component } from "vue";
import { i18n, setLocale } from "@/i18n";

/** Mounts with the console's plugins (Element Plus, i18n in English, Pinia, a router). */
export function mountWith<C extends Component>(component: C, options: ComponentMountingOptions<C> = {}) {
  setLocale("en");
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: "/:any(.*)*", component: { template: "<div />" } }] });
  return mount(component, {
    ...options,
    global: {
      plugins: [ElementPlus, i18n, createPinia(), router],
      stubs: { transition: false, "transition-group": false },
      ...(options.global ?? {}),
    },
  } as ComponentMountingOptions<C>);
}

/** Element Plus shows a form item's message 100 ms after its state changes. */
export async function settle(ms = 150): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  await flushPromises();
}
