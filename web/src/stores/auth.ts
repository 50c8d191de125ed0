import { defineStore } from "pinia";
import { computed, ref } from "vue";
import type { Me } from "@/api/types";
import { authService } from "@/services/auth";

export const useAuthStore = defineStore("auth", () => {
  const me = ref<Me | null>(null);
  const signedIn = computed(() => !!me.value?.authenticated);
  const isStaff = computed(() => !!me.value?.is_staff);

  async function load(): Promise<Me> {
    me.value = await authService.me();
    return me.value;
  }

  async function ensure(): Promise<boolean> {
    if (!me.value) await load();
    return signedIn.value;
  }

  /** Signs in; answers where to go next (the server keeps it on this site). */
  async function login(username: string, password: string, next?: string): Promise<string> {
    if (!document.cookie.includes("csrftoken=")) await load();
    const answer = await authService.login(username, password, next);
    me.value = answer;
    return answer.next || "/";
  }

  async function logout(): Promise<void> {
    await authService.logout();
    forget();
  }

  function forget(): void {
    me.value = { authenticated: false, username: null, is_staff: false, groups: [], can_sync: false };
  }

  return { me, signedIn, isStaff, load, ensure, login, logout, forget };
});
