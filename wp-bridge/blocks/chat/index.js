/* The editor side of the edgebot/chat block: a placeholder; the page renders the chat (PHP). */
( function ( blocks, element ) {
	blocks.registerBlockType( 'edgebot/chat', {
		edit: function () {
			return element.createElement( 'p', { className: 'edgebot-block-placeholder' }, 'edgebot chat' );
		},
		save: function () {
			return null;
		},
	} );
} )( window.wp.blocks, window.wp.element );
