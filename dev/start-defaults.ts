/** Values `npm start` and `npm run demo` agree on; development values, not secrets. */
export const DEMO_SECRET_DEFAULT = 'local-demo-secret';
/** The CodeHub repository mirrors.example.yml maps github.com/acme/demo to. */
export const DEMO_REPOSITORY_ID = 1001;
