// Counts as words, for Angular's i18nPlural pipe: "1 follower", "2 followers".
export const FOLLOWERS = { '=1': '# follower', other: '# followers' };
export const STREAMS = { '=1': '# stream', other: '# streams' };
export const VIEWS = { '=1': '# view', other: '# views' };
